package dev.tinyrt.quality;

/** A value with its one-standard-error uncertainty (0 where llama.cpp reports none: ten values or fewer). */
public record Estimate(double value, double uncertainty) {

    /**
     * The mean of values given by their sum and sum of squares, with the standard error of the mean, as llama.cpp's
     * {@code mean_and_uncertainty}: {@code sqrt((E[x²] - E[x]²) / (n - 1))}, or 0 for {@code n <= 10} or a
     * non-positive variance.
     */
    public static Estimate mean(double sum, double sumOfSquares, long count) {
        if (count < 1) {
            return new Estimate(0, 0);
        }
        double mean = sum / count;
        double variance = sumOfSquares / count - mean * mean;
        return new Estimate(mean, variance > 0 && count > 10 ? Math.sqrt(variance / (count - 1)) : 0);
    }

    /** {@code exp} of this, uncertainty propagated to first order (d exp(x) = exp(x) dx). */
    public Estimate exp() {
        double e = Math.exp(value);
        return new Estimate(e, e * uncertainty);
    }

    /** This estimate times {@code factor} (both value and uncertainty). */
    public Estimate scaled(double factor) {
        return new Estimate(value * factor, uncertainty * Math.abs(factor));
    }
}
