package dev.atlas.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.error.InvalidArgumentException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class StoreUriTest {
    @Test
    void parsesDirectoriesFileUrisAndS3Prefixes() {
        assertEquals(new StoreUri.Local(Path.of("some/dir")), StoreUri.parse("some/dir"));
        assertEquals(new StoreUri.Local(Path.of("/x/y")), StoreUri.parse("file:///x/y"));
        assertEquals(new StoreUri.S3("bucket", "a/b"), StoreUri.parse("s3://bucket/a/b/"));
        assertEquals(new StoreUri.S3("bucket", ""), StoreUri.parse("S3://bucket"));
        assertEquals("s3://bucket/a", StoreUri.parse("s3://bucket/a").toString());
    }

    @Test
    void refusesWhatCannotBeAStore() {
        assertTrue(assertThrows(InvalidArgumentException.class, () -> StoreUri.parse(" ")).getMessage().contains("empty"));
        assertTrue(assertThrows(InvalidArgumentException.class, () -> StoreUri.parse("s3:///p")).getMessage()
                .contains("names no bucket"));
        assertTrue(assertThrows(InvalidArgumentException.class, () -> StoreUri.parse("ftp://h/x")).getMessage()
                .contains("unsupported store location"));
        assertTrue(assertThrows(InvalidArgumentException.class, () -> StoreUri.parse("file://host/x")).getMessage()
                .contains("not a usable file URI"));
        assertThrows(InvalidArgumentException.class, () -> StoreUri.parse(null));
    }
}
