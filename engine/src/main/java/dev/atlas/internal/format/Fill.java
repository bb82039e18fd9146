package dev.atlas.internal.format;

import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Materialisation of a {@link FillValue} into one element of a dtype, with the reference crate's
 * conversion rules: integers wrap to the target width, floats saturate into integer ranges (NaN to
 * 0), some variants are ignored for some dtypes (Bool for signed integers, UInt for timestamps,
 * every variant for String and Binary).
 */
public final class Fill {
    private static final double TWO_63 = 9.223372036854775808E18;
    private static final double TWO_64 = 1.8446744073709551616E19;

    private Fill() {
    }

    /**
     * The little-endian bytes of the fill element for a fixed-width dtype, or an empty array for
     * String and Binary (whose fill element is the empty string / empty byte string).
     *
     * @param fill the declared fill value, or null for "natural zero"
     */
    public static byte[] element(DType dtype, FillValue fill) {
        long width = dtype.elementSize();
        if (width < 0 || !dtype.isStorable()) {
            return new byte[0];
        }
        long bits = elementBits(dtype, fill);
        ByteBuffer b = ByteBuffer.allocate((int) width).order(ByteOrder.LITTLE_ENDIAN);
        switch ((int) width) {
            case 1: b.put((byte) bits); break;
            case 2: b.putShort((short) bits); break;
            case 4: b.putInt((int) bits); break;
            default: b.putLong(bits); break;
        }
        return b.array();
    }

    /**
     * The fill element as raw bits in a long: integers (wrapped to width, zero-extended for
     * unsigned), IEEE bits for floats ({@code Float.floatToRawIntBits} for Float32), nanoseconds for
     * timestamps. Not meaningful for String/Binary (returns 0).
     */
    public static long elementBits(DType dtype, FillValue fill) {
        if (fill == null) {
            return 0;
        }
        DType.Kind k = dtype.kind();
        switch (k) {
            case INT8: case INT16: case INT32: case INT64: {
                int bitsWide = bitWidth(k);
                if (fill instanceof FillValue.Int) {
                    return wrapSigned(((FillValue.Int) fill).value(), bitsWide);
                }
                if (fill instanceof FillValue.UInt) {
                    return wrapSigned(((FillValue.UInt) fill).value(), bitsWide);
                }
                if (fill instanceof FillValue.Float) {
                    return saturateSigned(((FillValue.Float) fill).value(), bitsWide);
                }
                return 0;
            }
            case UINT8: case UINT16: case UINT32: case UINT64: {
                int bitsWide = bitWidth(k);
                if (fill instanceof FillValue.Int) {
                    return wrapUnsigned(((FillValue.Int) fill).value(), bitsWide);
                }
                if (fill instanceof FillValue.UInt) {
                    return wrapUnsigned(((FillValue.UInt) fill).value(), bitsWide);
                }
                if (fill instanceof FillValue.Float) {
                    return saturateUnsigned(((FillValue.Float) fill).value(), bitsWide);
                }
                if (fill instanceof FillValue.Bool) {
                    return ((FillValue.Bool) fill).value() ? 1 : 0;
                }
                return 0;
            }
            case FLOAT32: {
                float f = 0f;
                if (fill instanceof FillValue.Int) {
                    f = (float) ((FillValue.Int) fill).value();
                } else if (fill instanceof FillValue.UInt) {
                    f = unsignedToFloat(((FillValue.UInt) fill).value());
                } else if (fill instanceof FillValue.Float) {
                    f = (float) ((FillValue.Float) fill).value();
                }
                return Float.floatToRawIntBits(f) & 0xFFFF_FFFFL;
            }
            case FLOAT64: {
                double d = 0d;
                if (fill instanceof FillValue.Int) {
                    d = (double) ((FillValue.Int) fill).value();
                } else if (fill instanceof FillValue.UInt) {
                    d = unsignedToDouble(((FillValue.UInt) fill).value());
                } else if (fill instanceof FillValue.Float) {
                    d = ((FillValue.Float) fill).value();
                }
                return Double.doubleToRawLongBits(d);
            }
            case TIMESTAMP_NS:
                if (fill instanceof FillValue.TimestampNs) {
                    return ((FillValue.TimestampNs) fill).value();
                }
                if (fill instanceof FillValue.Int) {
                    return ((FillValue.Int) fill).value();
                }
                return 0;
            case BOOL:
                return fill instanceof FillValue.Bool && ((FillValue.Bool) fill).value() ? 1 : 0;
            default:
                return 0;
        }
    }

    static int bitWidth(DType.Kind k) {
        switch (k) {
            case INT8: case UINT8: case BOOL: return 8;
            case INT16: case UINT16: return 16;
            case INT32: case UINT32: case FLOAT32: return 32;
            default: return 64;
        }
    }

    /** Two's complement truncation to {@code bits}, sign-extended back to a long. */
    static long wrapSigned(long v, int bits) {
        return bits == 64 ? v : (v << (64 - bits)) >> (64 - bits);
    }

    /** Truncation to {@code bits}, zero-extended. */
    static long wrapUnsigned(long v, int bits) {
        return bits == 64 ? v : v & ((1L << bits) - 1);
    }

    /** Rust's saturating {@code f64 as iN}: NaN to 0, out-of-range to MIN/MAX, else toward zero. */
    static long saturateSigned(double d, int bits) {
        if (Double.isNaN(d)) {
            return 0;
        }
        if (bits == 64) {
            return (long) d;
        }
        long max = (1L << (bits - 1)) - 1;
        long min = -(1L << (bits - 1));
        if (d >= max) {
            return max;
        }
        if (d <= min) {
            return min;
        }
        return (long) d;
    }

    /** Rust's saturating {@code f64 as uN}: NaN and negatives to 0, too large to MAX. */
    static long saturateUnsigned(double d, int bits) {
        if (Double.isNaN(d) || d <= 0) {
            return 0;
        }
        if (bits == 64) {
            if (d >= TWO_64) {
                return -1L;
            }
            if (d >= TWO_63) {
                return ((long) (d - TWO_63)) ^ Long.MIN_VALUE;
            }
            return (long) d;
        }
        long max = (1L << bits) - 1;
        return d >= max ? max : (long) d;
    }

    /** u64 to f64 with round-to-nearest-even, as Rust's {@code as}. */
    public static double unsignedToDouble(long v) {
        if (v >= 0) {
            return (double) v;
        }
        return ((double) ((v >>> 1) | (v & 1))) * 2.0;
    }

    /** u64 to f32 with round-to-nearest-even, as Rust's {@code as}. */
    public static float unsignedToFloat(long v) {
        if (v >= 0) {
            return (float) v;
        }
        return ((float) ((v >>> 1) | (v & 1))) * 2.0f;
    }
}
