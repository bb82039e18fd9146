package dev.atlas.examples.server;

import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * A request the server answers with an error status and the JSON body
 * {@code {"error": message, "parameter": name}} ({@code parameter} only when one is to blame).
 * Client mistakes are 400, 404, 405 or 413; never 500.
 */
final class ApiError extends RuntimeException {
    private final HttpResponseStatus status;
    private final String parameter;

    ApiError(HttpResponseStatus status, String message, String parameter) {
        super(message, null, false, false);
        this.status = status;
        this.parameter = parameter;
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

    /** The query or path parameter to blame, or null. */
    String parameter() {
        return parameter;
    }
}
