package dev.atlas.storage.s3;

import dev.atlas.error.AtlasException;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.StorageException;
import java.io.IOException;
import java.util.Locale;
import java.util.concurrent.TimeoutException;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkServiceException;
import software.amazon.awssdk.crt.CrtRuntimeException;

/**
 * Maps SDK and CRT failures to the engine's typed exceptions, once, at the module edge. The HTTP
 * status decides (the CRT client does not always raise the modelled exception, e.g. a 404 of a
 * GET or HEAD may come without {@code NoSuchKeyException}); transport failures of the native
 * client are recognised by their CRT error names.
 */
final class S3Errors {
    private S3Errors() {
    }

    /** HTTP status of the failure, or -1 if it never got a response. */
    static int status(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SdkServiceException s && s.statusCode() > 0) {
                return s.statusCode();
            }
        }
        return -1;
    }

    /** S3 error code ({@code NoSuchKey}, {@code SlowDown}, ...) or null. */
    static String code(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof AwsServiceException s && s.awsErrorDetails() != null) {
                return s.awsErrorDetails().errorCode();
            }
        }
        return null;
    }

    /**
     * The typed exception for a failed {@code what} (e.g. "GET of 'k' [0, 10)") on {@code key}.
     * Engine exceptions pass through unchanged.
     */
    static Throwable map(Throwable raw, String what, String key) {
        Throwable t = SdkCall.unwrap(raw);
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof AtlasException) {
                return c; // ours, raised inside the SDK's pipeline (e.g. by the response transformer)
            }
        }
        int status = status(t);
        String code = code(t);
        String detail = status > 0 ? "HTTP " + status + (code == null ? "" : " " + code) : describe(t);
        if (status == 404 && !"NoSuchBucket".equals(code) && !"NoSuchUpload".equals(code)) {
            return new NotFoundException("object '" + key + "' not found (" + what + ")");
        }
        if (status > 0) {
            return new StorageException(what + " failed: " + detail + messageOf(t), retryableStatus(status, code), t);
        }
        return new StorageException(what + " failed: " + detail, retryableTransport(t), t);
    }

    static boolean retryableStatus(int status, String code) {
        if (status == 408 || status == 429 || status >= 500) {
            return status != 501; // NotImplemented will not start working
        }
        if (status == 409) {
            // A concurrent conditional write or a bucket operation in progress: try again.
            return "ConditionalRequestConflict".equals(code) || "OperationAborted".equals(code);
        }
        return "RequestTimeout".equals(code) || "SlowDown".equals(code) || "RequestTimeTooSkewed".equals(code);
    }

    static boolean retryableTransport(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof RangeBody.ShortBodyException || c instanceof IOException || c instanceof TimeoutException
                    || c instanceof ApiCallTimeoutException || c instanceof ApiCallAttemptTimeoutException) {
                return true;
            }
            if (c instanceof CrtRuntimeException crt && crt.errorName != null) {
                String n = crt.errorName.toUpperCase(Locale.ROOT);
                if (n.contains("SOCKET") || n.contains("CONNECTION") || n.contains("CLOSED") || n.contains("TIMEOUT")
                        || n.contains("RESET") || n.contains("INTERNAL") || n.contains("SERVICE_UNAVAILABLE")
                        || n.contains("SLOW_DOWN") || n.contains("STREAM") || n.contains("PROTOCOL")
                        || n.contains("BROKEN_PIPE") || n.contains("NO_CONNECTION") || n.contains("EOF")) {
                    return true;
                }
            }
            String m = c.getMessage();
            if (m != null) {
                String l = m.toLowerCase(Locale.ROOT);
                if (l.contains("connection") && (l.contains("reset") || l.contains("closed") || l.contains("refused"))) {
                    return true;
                }
                // The CRT reports a 5xx whose retries it exhausted without a status (e.g. "Response
                // code indicates internal server error").
                if (l.contains("socket") && (l.contains("closed") || l.contains("reset") || l.contains("timeout"))) {
                    return true;
                }
                // The CRT's connection health check closes a connection that stalls below its
                // minimum throughput ("Http connection channel shut down due to failure to meet
                // throughput minimum"): the next attempt gets a fresh connection.
                if (l.contains("channel shut down") || l.contains("throughput minimum")) {
                    return true;
                }
                if (l.contains("broken pipe") || l.contains("unexpected eof") || l.contains("premature")) {
                    return true;
                }
                if (l.contains("internal server error") || l.contains("service unavailable") || l.contains("slow down")
                        || l.contains("throttl")) {
                    return true;
                }
            }
        }
        return false;
    }

    private static String describe(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof CrtRuntimeException crt) {
                return crt.errorName + " (" + crt.getMessage() + ")";
            }
        }
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }

    private static String messageOf(Throwable t) {
        if (t instanceof AwsServiceException s && s.awsErrorDetails() != null && s.awsErrorDetails().errorMessage() != null) {
            return " (" + s.awsErrorDetails().errorMessage() + ")";
        }
        return "";
    }
}
