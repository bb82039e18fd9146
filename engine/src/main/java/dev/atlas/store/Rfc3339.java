package dev.atlas.store;

import java.time.DateTimeException;
import java.time.LocalDate;

/**
 * Timestamp attribute text as atlas-rust 0.10 writes and reads it (chrono): written in UTC with
 * {@code Z} and 0, 3, 6 or 9 fractional digits, the fewest that are exact ({@code AutoSi}); read
 * with chrono's RFC 3339 grammar {@code YYYY-MM-DD(T|t)HH:MM:SS[.digits](Z|z|(+|-)HH:MM)}: one or
 * more fractional digits (past the ninth ignored), second 60 accepted as a leap second (the
 * instant one second after :59), calendar dates checked, offsets below 24 hours. A text that
 * fails, or whose instant is outside the {@code i64} nanosecond range (1677-09-21 to 2262-04-11),
 * is not a timestamp.
 */
final class Rfc3339 {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private Rfc3339() {
    }

    /** E.g. {@code 2023-11-14T22:13:20Z}, {@code 1969-12-31T23:59:59.500Z}. */
    static String format(long nanos) {
        long secs = Math.floorDiv(nanos, NANOS_PER_SECOND);
        int frac = (int) Math.floorMod(nanos, NANOS_PER_SECOND);
        long days = Math.floorDiv(secs, 86_400L);
        int secOfDay = (int) Math.floorMod(secs, 86_400L);
        LocalDate date = LocalDate.ofEpochDay(days);
        StringBuilder sb = new StringBuilder(30);
        pad(sb, date.getYear(), 4).append('-');
        pad(sb, date.getMonthValue(), 2).append('-');
        pad(sb, date.getDayOfMonth(), 2).append('T');
        pad(sb, secOfDay / 3600, 2).append(':');
        pad(sb, secOfDay / 60 % 60, 2).append(':');
        pad(sb, secOfDay % 60, 2);
        if (frac != 0) {
            sb.append('.');
            if (frac % 1_000_000 == 0) {
                pad(sb, frac / 1_000_000, 3);
            } else if (frac % 1_000 == 0) {
                pad(sb, frac / 1_000, 6);
            } else {
                pad(sb, frac, 9);
            }
        }
        return sb.append('Z').toString();
    }

    private static StringBuilder pad(StringBuilder sb, int v, int width) {
        String s = Integer.toString(v);
        for (int i = s.length(); i < width; i++) {
            sb.append('0');
        }
        return sb.append(s);
    }

    /** Nanoseconds since the epoch, or null when {@code s} is not a timestamp in 0.10's sense. */
    static Long parse(String s) {
        int n = s.length();
        if (n < 20) {
            return null;
        }
        int year = digits(s, 0, 4);
        int month = digits(s, 5, 2);
        int day = digits(s, 8, 2);
        int hour = digits(s, 11, 2);
        int minute = digits(s, 14, 2);
        int second = digits(s, 17, 2);
        char t = s.charAt(10);
        if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || s.charAt(4) != '-'
                || s.charAt(7) != '-' || (t != 'T' && t != 't') || s.charAt(13) != ':' || s.charAt(16) != ':') {
            return null;
        }
        if (hour > 23 || minute > 59 || second > 60) {
            return null;
        }
        int i = 19;
        long frac = 0;
        if (s.charAt(i) == '.') {
            i++;
            int start = i;
            while (i < n && isDigit(s.charAt(i))) {
                if (i - start < 9) {
                    frac = frac * 10 + (s.charAt(i) - '0');
                }
                i++;
            }
            int count = i - start;
            if (count == 0) {
                return null;
            }
            for (int d = count; d < 9; d++) {
                frac *= 10;
            }
        }
        if (i >= n) {
            return null;
        }
        long offset;
        char z = s.charAt(i);
        if (z == 'Z' || z == 'z') {
            offset = 0;
            i++;
        } else if (z == '+' || z == '-') {
            if (i + 6 != n || s.charAt(i + 3) != ':') {
                return null;
            }
            int oh = digits(s, i + 1, 2);
            int om = digits(s, i + 4, 2);
            if (oh < 0 || om < 0 || om > 59 || oh > 23) {
                return null;
            }
            offset = (oh * 3600L + om * 60L) * (z == '-' ? -1 : 1);
            i += 6;
        } else {
            return null;
        }
        if (i != n) {
            return null;
        }
        try {
            long epochDay = LocalDate.of(year, month, day).toEpochDay();
            long secs = epochDay * 86_400L + hour * 3600L + minute * 60L + second - offset;
            // Before the epoch, (secs + 1) * 1e9 - (1e9 - frac), so that i64::MIN
            // (1677-09-21T00:12:43.145224192Z) does not overflow on the way.
            boolean borrow = secs < 0 && frac > 0;
            long whole = borrow ? secs + 1 : secs;
            long rest = borrow ? frac - NANOS_PER_SECOND : frac;
            return Math.addExact(Math.multiplyExact(whole, NANOS_PER_SECOND), rest);
        } catch (DateTimeException | ArithmeticException e) {
            return null;
        }
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** The decimal value of {@code width} ASCII digits at {@code at}, or -1. */
    private static int digits(String s, int at, int width) {
        int v = 0;
        for (int i = at; i < at + width; i++) {
            char c = s.charAt(i);
            if (!isDigit(c)) {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }
}
