package dev.tinyrt.quant;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Calibration text: passages of plain text separated the way the project's corpus separates documents
 * (a blank line, {@code <|endoftext|>}, a blank line). {@link #extract} cuts them deterministically from the
 * corpus' training split; {@link #samples} turns them into token windows for {@link Calibrator}.
 */
public final class CalibrationText {
    public static final String SEPARATOR = "\n\n<|endoftext|>\n\n";
    /** Passages and characters per passage of the committed data/calibration/calib.txt. */
    public static final int DEFAULT_PASSAGES = 150;
    public static final int DEFAULT_PASSAGE_CHARS = 2800;

    private CalibrationText() {
    }

    /**
     * {@code passages} passages of about {@code chars} characters from evenly spaced places in {@code train}: from
     * each place, whole lines starting at the next line start, skipping blank lines and document separators, until
     * {@code chars} are reached (a line that would pass 1.25 x chars is cut at a space). Same input, same output.
     */
    public static String extract(String train, int passages, int chars) {
        String[] lines = train.split("\n", -1);
        long[] lineStart = new long[lines.length + 1];
        for (int i = 0; i < lines.length; i++) {
            lineStart[i + 1] = lineStart[i] + lines[i].length() + 1;
        }
        List<String> out = new ArrayList<>();
        for (int p = 0; p < passages; p++) {
            long target = (long) p * train.length() / passages;
            int line = Arrays.binarySearch(lineStart, target);
            line = line >= 0 ? line : -line - 1;  // first line starting at or after the target
            StringBuilder passage = new StringBuilder();
            for (int i = line; i < lines.length && passage.length() < chars; i++) {
                String text = lines[i].strip();
                if (text.isEmpty() || text.equals("<|endoftext|>")) {
                    continue;
                }
                int room = chars + chars / 4 - passage.length();
                if (text.length() > room) {
                    int cut = text.lastIndexOf(' ', room);
                    text = text.substring(0, cut > 0 ? cut : room);
                }
                if (!passage.isEmpty()) {
                    passage.append('\n');
                }
                passage.append(text);
            }
            if (!passage.isEmpty()) {
                out.add(passage.toString());
            }
        }
        return String.join(SEPARATOR, out) + "\n";
    }

    /** The passages of a calibration file. */
    public static List<String> passages(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new TinyrtException("calibration data not found: " + file);
        }
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            return Arrays.stream(text.split("\\Q" + SEPARATOR + "\\E")).map(String::strip)
                    .filter(s -> !s.isEmpty()).toList();
        } catch (IOException e) {
            throw new TinyrtException("cannot read calibration data " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The first {@code count} passages that tokenize to at least {@code seqLen} tokens (BOS first), each cut to
     * exactly {@code seqLen} tokens.
     */
    public static List<int[]> samples(Path file, Tokenizer tokenizer, int count, int seqLen) {
        List<int[]> samples = new ArrayList<>();
        List<String> passages = passages(file);
        for (String passage : passages) {
            if (samples.size() == count) {
                break;
            }
            int[] ids = tokenizer.encode(passage, true);
            if (ids.length >= seqLen) {
                samples.add(Arrays.copyOf(ids, seqLen));
            }
        }
        if (samples.size() < count) {
            throw new TinyrtException("calibration data " + file + " has only " + samples.size() + " of its "
                    + passages.size() + " passages with at least " + seqLen + " tokens, but " + count
                    + " samples were asked for; lower calibration.samples or calibration.seq_len, or give more text");
        }
        return samples;
    }
}
