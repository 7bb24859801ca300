package dev.tinyrt.quality;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.cli.Progress;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The whole job behind the quality scripts: open the reference and the candidates on the CPU, tokenize the text
 * with the reference's tokenizer, evaluate, and time each part.
 *
 * @param contextSize       tokens per window
 * @param maxWindows        at most this many windows; {@code <= 0} means all
 * @param threads           CPU threads per model; {@code <= 0} means one per core
 * @param includeReference  put the reference itself first among the results (KLD 0 by construction: it reuses the
 *                          reference's logits), as the first row of a table
 */
public record QualityRun(ModelSpec reference, List<ModelSpec> candidates, Path text, int contextSize, int maxWindows,
                         int threads, boolean includeReference, String candidateBackend) {

    /** Candidates on the CPU engine, like the reference. */
    public QualityRun(ModelSpec reference, List<ModelSpec> candidates, Path text, int contextSize, int maxWindows,
                      int threads, boolean includeReference) {
        this(reference, candidates, text, contextSize, maxWindows, threads, includeReference, "cpu");
    }

    /** The results and what they cost. */
    public record Outcome(List<QualityResult> results, int streamTokens, double loadSeconds, double tokenizeSeconds,
                          double evaluateSeconds) {
    }

    public Outcome execute() {
        if (candidates.isEmpty() && !includeReference) {
            throw new TinyrtException("no candidate to evaluate");
        }
        long t0 = System.nanoTime();
        List<ModelLogitSource> opened = new ArrayList<>();
        try {
            ModelLogitSource ref = ModelLogitSource.open(reference.directory(), reference.precision(),
                    reference.kvCache(), threads);
            opened.add(ref);
            if (ref.model().tokenizer() == null) {
                throw new TinyrtException("the reference " + reference.directory()
                        + " has no tokenizer.json: it is needed to tokenize the evaluation text");
            }
            List<QualityEvaluator.Candidate> cands = new ArrayList<>();
            if (includeReference) {
                cands.add(new QualityEvaluator.Candidate(reference.label(), ref));
            }
            for (ModelSpec c : candidates) {
                // the reference always runs on the CPU in its precision; candidates on the chosen backend
                ModelLogitSource source = ModelLogitSource.open(c.directory(), c.precision(), c.kvCache(), threads,
                        candidateBackend);
                opened.add(source);
                if (source.vocabSize() != ref.vocabSize()) {
                    throw new TinyrtException("vocabularies differ: " + reference.directory() + " has "
                            + ref.vocabSize() + " tokens, " + c.directory() + " " + source.vocabSize());
                }
                cands.add(new QualityEvaluator.Candidate(c.label(), source));
            }
            QualityEvaluator.checkContext(contextSize, ref, reference.directory().toString());
            for (int i = 1; i < opened.size(); i++) {
                QualityEvaluator.checkContext(contextSize, opened.get(i), candidates.get(i - 1).directory().toString());
            }
            long t1 = System.nanoTime();
            int[] tokens = EvalText.tokenize(text, ref.model().tokenizer());
            long t2 = System.nanoTime();
            var options = new QualityEvaluator.Options(contextSize, maxWindows, ref.model().tokenizer().bosId());
            int windows = QualityEvaluator.windows(tokens.length, options);
            List<QualityResult> results;
            try (Progress progress = Progress.start("quality", windows, "windows")) {
                results = QualityEvaluator.evaluate(ref, reference.label(), cands, tokens, options,
                        (done, total) -> progress.step(1));
            }
            long t3 = System.nanoTime();
            return new Outcome(results, tokens.length, (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
        } finally {
            opened.forEach(ModelLogitSource::close);
        }
    }
}
