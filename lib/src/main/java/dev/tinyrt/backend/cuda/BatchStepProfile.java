package dev.tinyrt.backend.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.bench.RunInfo;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.model.StoragePrecision;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Where the time of a batched decode step goes on the GPU, below the executor: for each batch size, B sequences
 * are prefilled, then decode steps run through {@link LlamaModel#forwardGreedy} as the executor's all-greedy steps
 * do (wall-clock per step, graphs on), and one step is profiled op by op. The gap between this step time and the
 * benchmark's TPOT at the same batch is the executor's own cost.
 * Usage: {@code BatchStepProfile MODEL_DIR OUT.json [batch sizes, default 1,8,32,64,128]}.
 */
public final class BatchStepProfile {
    private static final int PROMPT = 128;
    private static final int STEPS = 32;

    private BatchStepProfile() {
    }

    public static void main(String... args) throws IOException {
        Path model = Path.of(args[0]);
        Path out = Path.of(args[1]);
        int[] batches = args.length > 2 ? Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray()
                : new int[]{1, 8, 32, 64, 128};
        ObjectNode root = RunInfo.collect("BatchStepProfile " + String.join(" ", args));
        root.put("model", model.toString()).put("prompt_tokens", PROMPT).put("timed_steps", STEPS);
        ArrayNode rows = root.putArray("batches");
        try (LoadedModel m = LoadedModel.open(model, new LoadedModel.Options("cuda", StoragePrecision.AUTO, 0))) {
            CudaBackend b = (CudaBackend) m.backend();
            root.put("gpu", CudaDevice.get().name());
            for (int batch : batches) {
                rows.add(measure(b, m.model(), batch));
                System.out.println("[batch_step] " + rows.get(rows.size() - 1).toString());
            }
        }
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), root);
    }

    private static ObjectNode measure(CudaBackend b, LlamaModel model, int batch) {
        int blockSize = KvCache.DEFAULT_BLOCK_SIZE;
        int perSeq = (PROMPT + STEPS + 8 + blockSize - 1) / blockSize;
        SplittableRandom r = new SplittableRandom(batch);
        int vocab = model.config().vocabSize();
        ObjectNode n = JsonNodeFactory.instance.objectNode().put("batch", batch);
        try (KvCache cache = b.kvCache(model.config(), perSeq * batch, blockSize)) {
            int[][] tables = new int[batch][perSeq];
            int[] last = new int[batch];
            long t0 = System.nanoTime();
            for (int s = 0; s < batch; s++) {
                final int base = s * perSeq;
                Arrays.setAll(tables[s], i -> base + i);
                int[] prompt = new int[PROMPT];
                int[] pos = new int[PROMPT];
                for (int i = 0; i < PROMPT; i++) {
                    prompt[i] = 3 + r.nextInt(vocab - 3);
                    pos[i] = i;
                }
                last[s] = model.forwardGreedy(new StepBatch(prompt, pos,
                        List.of(new StepBatch.Chunk(0, PROMPT, PROMPT, tables[s])), new int[]{PROMPT - 1}), cache)[0];
            }
            n.put("prefill_ms_per_sequence", (System.nanoTime() - t0) / 1e6 / batch);
            int length = PROMPT;
            double[] stepMs = new double[STEPS];
            List<CudaBackend.ProfiledOp> profiled = null;
            for (int step = 0; step < STEPS + 1; step++) {
                length++;
                int[] pos = new int[batch];
                int[] rowsWanted = new int[batch];
                List<StepBatch.Chunk> chunks = new ArrayList<>();
                for (int s = 0; s < batch; s++) {
                    pos[s] = length - 1;
                    rowsWanted[s] = s;
                    chunks.add(new StepBatch.Chunk(s, 1, length, tables[s]));
                }
                StepBatch sb = new StepBatch(last.clone(), pos, chunks, rowsWanted);
                if (step == STEPS) {  // the last one eager, op by op
                    b.beginProfile();
                    model.forwardGreedy(sb, cache);
                    profiled = b.endProfile();
                    break;
                }
                long s0 = System.nanoTime();
                last = model.forwardGreedy(sb, cache);
                stepMs[step] = (System.nanoTime() - s0) / 1e6;
            }
            double[] timed = Arrays.copyOfRange(stepMs, 4, STEPS);  // first steps capture graphs
            Arrays.sort(timed);
            n.put("decode_step_ms_median", timed[timed.length / 2]);
            n.put("decode_step_ms_min", timed[0]);
            n.put("decode_tokens_per_s", batch * 1000.0 / timed[timed.length / 2]);
            Map<String, double[]> byLabel = new LinkedHashMap<>();
            double total = 0;
            for (CudaBackend.ProfiledOp op : profiled) {
                double[] acc = byLabel.computeIfAbsent(op.label(), k -> new double[2]);
                acc[0]++;
                acc[1] += op.micros();
                total += op.micros();
            }
            n.put("profiled_step_us", total);
            ArrayNode ops = n.putArray("ops");
            final double sum = total;
            byLabel.entrySet().stream().sorted((x, y) -> Double.compare(y.getValue()[1], x.getValue()[1]))
                    .forEach(e -> ops.addObject().put("op", e.getKey()).put("calls", (int) e.getValue()[0])
                            .put("us", e.getValue()[1]).put("share", e.getValue()[1] / sum));
        }
        return n;
    }
}
