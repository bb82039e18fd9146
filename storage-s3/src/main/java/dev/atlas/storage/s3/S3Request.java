package dev.atlas.storage.s3;

/** The kinds of S3 requests {@link S3Storage} sends, as counted in {@link S3Stats}. */
public enum S3Request {
    GET,
    HEAD,
    PUT,
    LIST,
    DELETE,
    DELETE_BATCH,
    CREATE_MULTIPART,
    UPLOAD_PART,
    COMPLETE_MULTIPART,
    ABORT_MULTIPART,
    /** A server-side CopyObject. */
    COPY
}
