package dev.atlas.http.region;

import dev.atlas.error.InvalidArgumentException;

/**
 * A region text or box that does not fit an array, with what is wrong as a {@link Problem} and the
 * pieces involved, so each front end can word it for its users (a usage line, a JSON 400).
 */
public final class BadRegionException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    /** What is wrong. */
    public enum Problem {
        /** More axes than the array has (or, where every axis must be given, a different number). */
        AXIS_COUNT,
        /** A bound or index that is not an integer. */
        NOT_AN_INTEGER,
        /** A negative bound or index where the syntax wants non-negative integers. */
        NEGATIVE,
        /** A second colon: a step, which no front end supports. */
        STEP,
        /** {@code a:b} with {@code b <= a} where empty regions are refused. */
        EMPTY,
        /** An axis that leaves {@code 0 .. extent}. */
        OUTSIDE
    }

    private final Problem problem;
    private final int axis;
    private final int axes;
    private final String part;
    private final String token;
    private final long value;
    private final transient Region region;

    private BadRegionException(Problem problem, int axis, int axes, String part, String token, long value, Region region,
            String message) {
        super(message);
        this.problem = problem;
        this.axis = axis;
        this.axes = axes;
        this.part = part;
        this.token = token;
        this.value = value;
        this.region = region;
    }

    static BadRegionException axisCount(int axes, int rank) {
        return new BadRegionException(Problem.AXIS_COUNT, -1, axes, null, null, 0, null,
                axes + " axes for an array of rank " + rank);
    }

    static BadRegionException notAnInteger(int axis, String part, String token) {
        return new BadRegionException(Problem.NOT_AN_INTEGER, axis, 0, part, token, 0, null,
                "axis " + axis + " '" + part + "': '" + token + "' is not an integer");
    }

    static BadRegionException negative(int axis, String part, long value) {
        return new BadRegionException(Problem.NEGATIVE, axis, 0, part, null, value, null,
                "axis " + axis + " '" + part + "': " + value + " is negative");
    }

    static BadRegionException step(int axis, String part) {
        return new BadRegionException(Problem.STEP, axis, 0, part, null, 0, null,
                "axis " + axis + " '" + part + "': steps are not supported");
    }

    static BadRegionException empty(int axis, String part) {
        return new BadRegionException(Problem.EMPTY, axis, 0, part, null, 0, null, "axis " + axis + " '" + part + "' is empty");
    }

    static BadRegionException outside(int axis, Region region, long extent) {
        long lo = region.start()[axis];
        return new BadRegionException(Problem.OUTSIDE, axis, 0, null, null, extent, region,
                "axis " + axis + ": " + lo + ":" + (lo + region.shape()[axis]) + " is outside 0:" + extent);
    }

    public Problem problem() {
        return problem;
    }

    /** The axis to blame, or -1 for {@link Problem#AXIS_COUNT}. */
    public int axis() {
        return axis;
    }

    /** For {@link Problem#AXIS_COUNT}: how many axes the text has. */
    public int axes() {
        return axes;
    }

    /** The axis's text, trimmed; null for {@link Problem#AXIS_COUNT} and {@link Problem#OUTSIDE}. */
    public String part() {
        return part;
    }

    /** For {@link Problem#NOT_AN_INTEGER}: the bound or index that does not parse, trimmed. */
    public String token() {
        return token;
    }

    /** For {@link Problem#NEGATIVE}: the value; for {@link Problem#OUTSIDE}: the axis's extent. */
    public long value() {
        return value;
    }

    /** For {@link Problem#OUTSIDE}: the whole region as given (every axis parsed). */
    public Region region() {
        return region;
    }
}
