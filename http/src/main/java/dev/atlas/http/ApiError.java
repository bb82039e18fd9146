package dev.atlas.http;

import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * A request the server answers with an error status and the JSON body
 * {@code {"error": message, "parameter": name}} ({@code parameter} only when one is to blame).
 * Client mistakes are 400, 404, 405 or 413; never 500. A failure that repeating the request may
 * cure is 503 with {@code Retry-After} ({@link #retryAfterSeconds()}).
 */
final class ApiError extends RuntimeException {
    /**
     * The {@code Retry-After} of a retryable storage failure, in seconds: the engine has already
     * re-planned on the newest commit before giving up, so what is left is a writer racing this
     * read or a throttled backend; a second is long enough for either to settle and short enough
     * that a client's retry costs little latency.
     */
    static final int RETRY_AFTER_SECONDS = 1;

    private final HttpResponseStatus status;
    private final String parameter;
    private final int retryAfterSeconds;

    ApiError(HttpResponseStatus status, String message, String parameter) {
        this(status, message, parameter, 0);
    }

    private ApiError(HttpResponseStatus status, String message, String parameter, int retryAfterSeconds) {
        super(message, null, false, false);
        this.status = status;
        this.parameter = parameter;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** 503 with {@code Retry-After}: the store changed or the backend failed in a way a later try may not meet. */
    static ApiError retryLater(String message) {
        return new ApiError(HttpResponseStatus.SERVICE_UNAVAILABLE, message, null, RETRY_AFTER_SECONDS);
    }

    static ApiError badParameter(String parameter, String message) {
        return new ApiError(HttpResponseStatus.BAD_REQUEST, message, parameter);
    }

    static ApiError notFound(String message, String parameter) {
        return new ApiError(HttpResponseStatus.NOT_FOUND, message, parameter);
    }

    /** A request within the syntax but beyond a configured limit. */
    static ApiError tooLarge(String parameter, String message) {
        return new ApiError(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, message, parameter);
    }

    HttpResponseStatus status() {
        return status;
    }

    /** Seconds for the {@code Retry-After} header, or 0 for none. */
    int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    /** The query or path parameter to blame, or null. */
    String parameter() {
        return parameter;
    }
}
