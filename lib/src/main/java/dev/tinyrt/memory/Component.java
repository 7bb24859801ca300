package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One line of the memory breakdown: what the formulas say, what was measured, whether the two agree within
 * {@value #TOLERANCE_PERCENT} % and, when they do not, why.
 */
public record Component(String name, long computedBytes, Measured measured, String explanation) {
    public static final double TOLERANCE = 0.05;
    public static final int TOLERANCE_PERCENT = 5;

    public double relativeDifference() {
        return computedBytes == 0 ? (measured.bytes() == 0 ? 0 : Double.POSITIVE_INFINITY)
                : (double) (measured.bytes() - computedBytes) / computedBytes;
    }

    public boolean agrees() {
        return Math.abs(relativeDifference()) <= TOLERANCE;
    }

    public ObjectNode toJson() {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("name", name);
        n.put("computed_bytes", computedBytes);
        n.set("measured", measured.toJson());
        n.put("relative_difference", relativeDifference());
        n.put("agrees_within_5_percent", agrees());
        if (explanation != null) {
            n.put("explanation", explanation);
        }
        return n;
    }
}
