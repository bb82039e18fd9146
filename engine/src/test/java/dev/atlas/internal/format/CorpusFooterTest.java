package dev.atlas.internal.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atlas.testing.Interop;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every layer footer and stats payload of the interop corpus decodes to exactly what
 * expected.json records and re-encodes to the same bytes; every block decompresses to the
 * recorded digest.
 */
class CorpusFooterTest {

    static JsonNode expected(Path corpus) throws Exception {
        return CorpusJson.MAPPER.readTree(corpus.resolve("expected.json").toFile());
    }

    @TestFactory
    Stream<DynamicTest> footersDecodeAndReencodeByteForByte() throws Exception {
        Path corpus = Interop.root().resolve("array-format");
        JsonNode exp = expected(corpus);
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode set : exp.get("file_sets")) {
            for (JsonNode layer : set.get("layers")) {
                String path = layer.get("path").asText();
                tests.add(DynamicTest.dynamicTest(path, () -> checkLayer(corpus, layer)));
            }
            JsonNode stats = set.get("stats_file");
            if (!stats.isNull()) {
                tests.add(DynamicTest.dynamicTest(stats.get("path").asText(), () -> checkStats(corpus, stats)));
            }
        }
        assertEquals(26, tests.size(), "corpus file count");
        return tests.stream();
    }

    private static void checkLayer(Path corpus, JsonNode layer) throws Exception {
        String path = layer.get("path").asText();
        byte[] file = Files.readAllBytes(corpus.resolve(path));
        Footer footer = Trailer.decodeLayer(ByteBuffer.wrap(file), path);
        assertEquals(layer.get("footer"), CorpusJson.normalize(CorpusJson.footer(footer)), path);

        long payloadLen = Trailer.payloadLength(ByteBuffer.wrap(file), file.length, Trailer.LAYER_MAGIC, path);
        int start = (int) (file.length - Trailer.SIZE - payloadLen);
        assertEquals(layer.get("data_region_size").asLong(), start, "data region of " + path);
        byte[] payload = java.util.Arrays.copyOfRange(file, start, (int) (start + payloadLen));
        assertArrayEquals(payload, FooterCodec.encodeFooter(footer), "re-encoded footer of " + path);

        InMemoryFileSet set = InMemoryFileSet.decode(List.of(path), List.of(ByteBuffer.wrap(file)), "-", null,
                PooledByteBufAllocator.DEFAULT);
        for (JsonNode b : layer.get("blocks_uncompressed_sha256")) {
            byte[] block = set.block(0, b.get("id").asLong());
            assertEquals(b.get("uncompressed_sha256").asText(), sha256(block), path + " block " + b.get("id"));
        }
    }

    private static void checkStats(Path corpus, JsonNode stats) throws Exception {
        String path = stats.get("path").asText();
        byte[] file = Files.readAllBytes(corpus.resolve(path));
        StatsFile decoded = Trailer.decodeStatsFile(ByteBuffer.wrap(file), path);
        assertEquals(stats.get("layout").asText().equals("v1") ? StatsFile.VERSION_V1 : StatsFile.UNVERSIONED,
                decoded.version(), "layout of " + path);
        assertEquals(stats.get("content"), CorpusJson.normalize(CorpusJson.stats(decoded)), path);
        byte[] payload = java.util.Arrays.copyOf(file, file.length - Trailer.SIZE);
        assertArrayEquals(payload, FooterCodec.encodeStats(decoded), "re-encoded stats of " + path);
    }

    static String sha256(byte[] b) throws Exception {
        return CorpusJson.hex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
