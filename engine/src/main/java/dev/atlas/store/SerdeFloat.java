package dev.atlas.store;

import dev.atlas.error.InvalidArgumentException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Text of a finite {@code f64} exactly as serde_json writes it (the {@code ryu} crate's
 * {@code format_finite}): the shortest decimal that reads back to the same double (the nearest such
 * one when several have that length, ties to even), laid out as {@code 3.0}, {@code 51.25},
 * {@code 0.0001}, {@code 1e-7}, {@code 1.5e300}, {@code 1e16}. Plain notation is used while the
 * decimal exponent fits in 16 integer digits or 4 leading zeros; beyond that, scientific with an
 * unpadded exponent.
 *
 * <p>The shortest digits are computed here rather than taken from {@link Double#toString}: on
 * Java 17 that method sometimes returns one digit more than the shortest (JDK-4511638).
 */
final class SerdeFloat {
    private SerdeFloat() {
    }

    static String format(double v) {
        if (!Double.isFinite(v)) {
            throw new InvalidArgumentException("not finite: " + v);
        }
        boolean negative = (Double.doubleToRawLongBits(v) < 0);
        double a = Math.abs(v);
        if (a == 0) {
            return negative ? "-0.0" : "0.0";
        }
        BigDecimal digits = shortest(a);
        String ds = digits.unscaledValue().toString();
        int length = ds.length();
        int k = -digits.scale();
        int kk = length + k;
        StringBuilder sb = new StringBuilder(length + 8);
        if (negative) {
            sb.append('-');
        }
        if (k >= 0 && kk <= 16) {
            sb.append(ds);
            sb.append("0".repeat(k));
            sb.append(".0");
        } else if (kk > 0 && kk <= 16) {
            sb.append(ds, 0, kk).append('.').append(ds, kk, length);
        } else if (kk > -5 && kk <= 0) {
            sb.append("0.").append("0".repeat(-kk)).append(ds);
        } else if (length == 1) {
            sb.append(ds).append('e').append(kk - 1);
        } else {
            sb.append(ds.charAt(0)).append('.').append(ds, 1, length).append('e').append(kk - 1);
        }
        return sb.toString();
    }

    /** The shortest decimal (trailing zeros stripped) that parses back to {@code a > 0}. */
    private static BigDecimal shortest(double a) {
        BigDecimal exact = new BigDecimal(a);
        for (int p = 1; p <= 17; p++) {
            BigDecimal down = exact.round(new MathContext(p, RoundingMode.DOWN));
            BigDecimal up = exact.round(new MathContext(p, RoundingMode.UP));
            boolean downOk = down.doubleValue() == a;
            boolean upOk = up.doubleValue() == a;
            if (downOk && upOk) {
                // Both read back: the nearer one, ties to the even last digit (as ryu does).
                return exact.round(new MathContext(p, RoundingMode.HALF_EVEN)).stripTrailingZeros();
            }
            if (downOk) {
                return down.stripTrailingZeros();
            }
            if (upOk) {
                return up.stripTrailingZeros();
            }
        }
        // 17 significant digits always round-trip; not reached.
        return exact.round(new MathContext(17, RoundingMode.HALF_EVEN)).stripTrailingZeros();
    }
}
