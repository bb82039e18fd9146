package dev.atlas.storage.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The one spelling of an ETag as a version, whichever response carried it. */
class EtagVersionTest {
    @Test
    void etagsAreVersionsWithTheirQuotes() {
        assertEquals("\"9b2cf535f27731c974343645a3985328\"", S3Storage.version("\"9b2cf535f27731c974343645a3985328\""));
        assertEquals("\"9b2cf535f27731c974343645a3985328\"", S3Storage.version("9b2cf535f27731c974343645a3985328"));
        assertEquals("\"4dad320fdbc2fd86cb955a663c00b31a-2\"", S3Storage.version(" 4dad320fdbc2fd86cb955a663c00b31a-2 "));
        assertEquals("W/\"abc\"", S3Storage.version("W/\"abc\""));
        assertEquals("", S3Storage.version(null));
        assertEquals("", S3Storage.version(""));
    }
}
