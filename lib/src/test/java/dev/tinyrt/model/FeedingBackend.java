package dev.tinyrt.model;

import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.backend.Tensor;
import dev.tinyrt.backend.Weight;

/**
 * The CPU backend with the CUDA backend's token feeding ({@link dev.tinyrt.backend.Backend#feedTokensFromLastArgmax}):
 * a fed step embeds the last greedy ids, whatever its batch says, so the overlapped decode loops run (and can be
 * checked) without a GPU. Counts the steps it runs.
 */
public class FeedingBackend extends DelegatingBackend {
    private int[] lastIds;
    private int[] armed;
    private int[] feeding;
    public int steps;
    public int fedSteps;

    @Override
    public String name() {
        return "feeding";
    }

    @Override
    public PendingIds argmaxRowsAsync(Tensor logits) {
        int[] ids = argmaxRows(logits);
        lastIds = ids.clone();
        return () -> ids.clone();
    }

    @Override
    public boolean feedsTokensOnDevice() {
        return true;
    }

    @Override
    public void feedTokensFromLastArgmax(int count) {
        if (lastIds == null || lastIds.length != count) {
            throw new IllegalStateException("no " + count + " greedy ids to feed");
        }
        armed = lastIds;
    }

    @Override
    public void runStep(StepBatch batch, KvCache cache, Object buffers, Runnable work) {
        steps++;
        feeding = armed;
        armed = null;
        if (feeding != null) {
            fedSteps++;
        }
        try {
            work.run();
        } finally {
            feeding = null;
        }
    }

    @Override
    public void embed(Weight table, int[] ids, Tensor out) {
        if (feeding != null && ids.length != feeding.length) {
            throw new IllegalStateException("a fed step embeds " + ids.length + " ids, " + feeding.length + " fed");
        }
        super.embed(table, feeding != null ? feeding : ids, out);
    }
}
