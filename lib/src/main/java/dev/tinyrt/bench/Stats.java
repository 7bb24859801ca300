package dev.tinyrt.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Arrays;

/**
 * Summary of repeated measurements: median with the spread (min, max) and the count (JSON: "repeats"). The median
 * of an even count is the mean of the two middle values.
 */
public record Stats(double median, double min, double max, @JsonProperty("repeats") int count) {
    public static Stats of(double... values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("no measurements");
        }
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        return new Stats(median, v[0], v[n - 1], n);
    }

    public ObjectNode toJson() {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("median", median);
        n.put("min", min);
        n.put("max", max);
        n.put("repeats", count);
        return n;
    }
}
