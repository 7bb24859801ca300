package dev.tinyrt.backend;

import java.util.List;

/**
 * What one forward step computes: the new tokens of one or more sequences laid out one sequence after another.
 * Each token's keys and values are written to the cache slot its position maps to through its sequence's
 * block table; each query attends causally to its sequence's cached positions up to its own.
 *
 * @param tokens    token ids, all sequences concatenated
 * @param positions position of each token within its sequence
 * @param sequences one chunk per sequence, in the same order as the tokens
 * @param logitRows rows (indexes into tokens) whose next-token logits the caller wants, ascending
 */
public record StepBatch(int[] tokens, int[] positions, List<Chunk> sequences, int[] logitRows) {

    /**
     * @param tokenStart    first row of this sequence in {@code tokens}
     * @param tokenCount    number of new tokens of this sequence in this step
     * @param contextLength tokens of this sequence in the cache once this step has written its tokens
     * @param blockTable    physical block of each logical block of the sequence (covers contextLength)
     */
    public record Chunk(int tokenStart, int tokenCount, int contextLength, int[] blockTable) {
    }

    public StepBatch {
        if (tokens.length != positions.length) {
            throw new IllegalArgumentException("tokens and positions differ in length");
        }
        int expected = 0;
        for (Chunk c : sequences) {
            if (c.tokenStart != expected || c.tokenCount <= 0) {
                throw new IllegalArgumentException("sequence chunks must tile the token rows in order");
            }
            expected += c.tokenCount;
        }
        if (expected != tokens.length) {
            throw new IllegalArgumentException("sequence chunks cover " + expected + " of " + tokens.length + " tokens");
        }
        for (int i = 0; i < logitRows.length; i++) {
            if (logitRows[i] < 0 || logitRows[i] >= tokens.length || (i > 0 && logitRows[i] <= logitRows[i - 1])) {
                throw new IllegalArgumentException("logitRows must be ascending rows of the batch");
            }
        }
    }

    /** One sequence's whole prompt as one step from position 0, with its last token's logits wanted. */
    public static StepBatch prompt(int[] tokens, int[] blockTable) {
        int[] positions = new int[tokens.length];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = i;
        }
        return new StepBatch(tokens, positions, List.of(new Chunk(0, tokens.length, tokens.length, blockTable)),
                new int[]{tokens.length - 1});
    }

    /** One sequence's decode step: {@code token} ends a sequence of {@code length} tokens; its logits are wanted. */
    public static StepBatch decode(int token, int length, int[] blockTable) {
        return new StepBatch(new int[]{token}, new int[]{length - 1}, List.of(new Chunk(0, 1, length, blockTable)),
                new int[]{0});
    }

    public int numTokens() {
        return tokens.length;
    }

    /** Physical cache slot of token {@code row}: block * blockSize + offset in block. */
    public int slot(Chunk c, int row, int blockSize) {
        int pos = positions[row];
        return c.blockTable[pos / blockSize] * blockSize + pos % blockSize;
    }
}
