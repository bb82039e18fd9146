package dev.atlas.internal;

/**
 * Bit-pattern identity of doubles, the equality the format's values use (NaN equals NaN, 0.0 differs
 * from -0.0, as dictionary de-duplication compares them): one definition for every value type that
 * holds a double.
 */
public final class RawBits {
    private RawBits() {
    }

    /** True when {@code a} and {@code b} have the same raw bits. */
    public static boolean same(double a, double b) {
        return Double.doubleToRawLongBits(a) == Double.doubleToRawLongBits(b);
    }

    /** A hash consistent with {@link #same}. */
    public static int hash(double v) {
        return Long.hashCode(Double.doubleToRawLongBits(v));
    }
}
