package dev.atlas.examples.cli;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.format.DType;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.DatasetView;
import dev.atlas.store.RegistryFormat;
import dev.atlas.store.StoreCodec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code atlas verify} on real stores on disk, each damaged the way a disk or a careless copy
 * damages files: a flipped bit in a block, in a footer, in a stats file, a truncated sidecar, a
 * registry that still parses. Each is reported with exit code 4; a clean store exits 0.
 */
class VerifyCommandTest {
    @TempDir
    Path tmp;

    /**
     * Datasets d0..d2, each with "t" (float32 16x8, chunks 4x4, values 100*d + i/2) and "u" (int32
     * 10, all 7+d), written by two flushes per dataset, so each array file has a base and sidecars.
     */
    Path store(StoreCodec codec, RegistryFormat format, StoreCodec registryCompression) {
        Path dir = tmp.resolve("store");
        EngineResources resources = EngineResources.create();
        try {
            AtlasOptions o = AtlasOptions.builder(resources).codec(codec).registryFile(format, registryCompression).build();
            Atlas a = LocalAtlas.create(dir, o).block(TIMEOUT);
            for (int d = 0; d < 3; d++) {
                DatasetView v = a.createDataset("d" + d).block(TIMEOUT);
                v.defineArray("t", ArraySpec.of(DType.FLOAT32, 16, 8).withChunks(4, 4)).block(TIMEOUT);
                v.defineArray("u", ArraySpec.of(DType.INT32, 10)).block(TIMEOUT);
                float[] t = new float[128];
                for (int i = 0; i < t.length; i++) {
                    t[i] = 100 * d + i * 0.5f;
                }
                try (NdArray x = NdArray.ofFloats(new long[] {16, 8}, t)) {
                    v.writeArray("t", new long[] {0, 0}, x).block(TIMEOUT);
                }
                a.flush().block(TIMEOUT);
                int[] u = new int[10];
                Arrays.fill(u, 7 + d);
                try (NdArray x = NdArray.ofInts(DType.INT32, new long[] {10}, u)) {
                    v.writeArray("u", new long[] {0}, x).block(TIMEOUT);
                }
                a.flush().block(TIMEOUT);
            }
            a.close().block(TIMEOUT);
        } finally {
            resources.disposeLater().block(TIMEOUT);
        }
        return dir;
    }

    Path store() {
        return store(StoreCodec.ZSTD, RegistryFormat.JSON, StoreCodec.UNCOMPRESSED);
    }

    static void flip(Path file, long at, int mask) throws Exception {
        byte[] b = Files.readAllBytes(file);
        b[(int) at] ^= (byte) mask;
        Files.write(file, b);
    }

    static Cli.Run verify(Path target, String... more) {
        List<String> args = new ArrayList<>(List.of("verify", target.toString()));
        args.addAll(List.of(more));
        return Cli.run(args.toArray(String[]::new));
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    void aCleanStoreIsReportedCleanWithExitZero() {
        Path s = store();
        Cli.Run r = verify(s);
        assertEquals(AtlasCli.EXIT_OK, r.code(), r.toString());
        assertTrue(r.out().startsWith("verified " + s + ": 2 file set(s), "), r.out());
        assertTrue(r.out().strip().endsWith("clean"), r.out());
        Cli.Run file = verify(s.resolve("t").resolve("data.af"));
        assertEquals(AtlasCli.EXIT_OK, file.code(), file.toString());
        assertTrue(file.out().contains("1 file set(s)") && file.out().contains("3 array(s)"), file.out());
    }

    @Test
    void aFlippedBitInABlockIsDamage() throws Exception {
        Path s = store();
        // Inside block 0's zstd frame: without checksums this bit decoded to other values, silently.
        flip(s.resolve("t/data.1.af"), 20, 0x10);
        Cli.Run r = verify(s);
        assertEquals(AtlasCli.EXIT_DAMAGED, r.code(), r.toString());
        assertTrue(r.out().contains("DAMAGE  BLOCK       t/data.1.af: block 0 "), r.out());
        assertTrue(r.out().contains("DAMAGED: 1 finding(s) of damage"), r.out());
        // The same file set alone.
        Cli.Run f = verify(s.resolve("t").resolve("data.af"));
        assertEquals(AtlasCli.EXIT_DAMAGED, f.code(), f.toString());
        assertTrue(f.out().contains("BLOCK       data.1.af: block 0"), f.out());
    }

    @Test
    void aFlippedBitInAFooterIsReported() throws Exception {
        Path s = store();
        Path side = s.resolve("u/data.1.af");
        long size = Files.size(side);
        // The footer's last byte (its root), right before the 12-byte trailer.
        flip(side, size - 13, 0x02);
        Cli.Run r = verify(s);
        // This footer still decodes; the layer's checksum record says it is not what was written.
        assertEquals(AtlasCli.EXIT_DAMAGED, r.code(), r.toString());
        assertTrue(r.out().contains("DAMAGE  FOOTER      u/data.1.af: layer does not decode"), r.out());
    }

    @Test
    void aFlippedBitInAnUncompressedBlockIsDamage() throws Exception {
        Path s = store(StoreCodec.UNCOMPRESSED, RegistryFormat.JSON, StoreCodec.UNCOMPRESSED);
        // The 40 bytes of d0's "u" (ten int32 7s), stored as they are: byte 2 of the value 7.
        flip(s.resolve("u/data.2.af"), 2, 0x01);
        Cli.Run r = verify(s);
        assertEquals(AtlasCli.EXIT_DAMAGED, r.code(), r.toString());
        assertTrue(r.out().contains("DAMAGE  BLOCK       u/data.2.af: block 0 "), r.out());
        Cli.Run cat = Cli.run("cat", s.toString(), "d0", "u");
        assertEquals(AtlasCli.EXIT_RUNTIME, cat.code(), "reads refuse the damaged block too: " + cat);
    }

    @Test
    void aFlippedBitInAStatsFileIsDamage() throws Exception {
        Path s = store();
        Path stats = s.resolve("t/data.stats");
        byte[] b = Files.readAllBytes(stats);
        int at = indexOf(b, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(263.5).array());
        assertTrue(at >= 0, "d2's max of t is in the stats file");
        flip(stats, at + 5, 0x08);
        Cli.Run r = verify(s);
        assertEquals(AtlasCli.EXIT_DAMAGED, r.code(), r.toString());
        assertTrue(r.out().contains("DAMAGE  STATS       t/data.stats: "), r.out());
    }

    @Test
    void aTruncatedSidecarIsDamage() throws Exception {
        Path s = store();
        Path side = s.resolve("u/data.2.af");
        byte[] b = Files.readAllBytes(side);
        Files.write(side, Arrays.copyOf(b, b.length / 2));
        Cli.Run r = verify(s, "--json");
        assertEquals(AtlasCli.EXIT_DAMAGED, r.code(), r.toString());
        List<String> findings = new ArrayList<>();
        boolean clean = true;
        try (JsonParser p = new JsonFactory().createParser(r.out())) {
            String field = null;
            String kind = null;
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                if (t == JsonToken.FIELD_NAME) {
                    field = p.currentName();
                } else if (t.isScalarValue() && "clean".equals(field)) {
                    clean = p.getBooleanValue();
                } else if (t.isScalarValue() && "kind".equals(field)) {
                    kind = p.getText();
                } else if (t.isScalarValue() && "object".equals(field)) {
                    findings.add(kind + " " + p.getText());
                }
            }
        }
        assertEquals(false, clean, r.out());
        assertEquals(List.of("footer u/data.2.af"), findings, r.out());
    }

    @Test
    void aMessagePackRegistryWithTwoFlippedBytesIsDamageAndNoLongerOpens() throws Exception {
        Path s = store(StoreCodec.ZSTD, RegistryFormat.MSGPACK, StoreCodec.UNCOMPRESSED);
        Path reg = s.resolve("atlas.msgpack");
        byte[] b = Files.readAllBytes(reg);
        // d1's declaration of "u" becomes "v", and d2's name becomes "d3": both still parse.
        int d1 = indexOf(b, "d1".getBytes(StandardCharsets.US_ASCII));
        int u = indexOf(Arrays.copyOfRange(b, d1, b.length), new byte[] {(byte) 0xA1, 'u'}) + d1;
        b[u + 1] = 'v';
        int d2 = indexOf(b, new byte[] {(byte) 0xA2, 'd', '2'});
        b[d2 + 2] = '3';
        Files.write(reg, b);
        Cli.Run info = Cli.run("info", s.toString());
        assertEquals(AtlasCli.EXIT_RUNTIME, info.code(), "a damaged registry no longer opens: " + info);
        assertTrue(info.err().contains("digest"), info.err());
        Cli.Run r = verify(s);
        assertEquals(AtlasCli.EXIT_DAMAGED, r.code(), r.toString());
        assertTrue(r.out().contains("REGISTRY    atlas.msgpack: registry does not decode"), r.out());
    }

    @Test
    void aRegistryWithoutDigestThatStillParsesIsCaughtByTheCrossCheck() throws Exception {
        Path s = store();
        Path reg = s.resolve("atlas.json");
        String json = Files.readString(reg);
        // As atlas-rust 0.10 would have written it (no digest), then damaged: d1's "u" became "v".
        String plain = json.replaceFirst("\n  \"content_crc32c\": \\d+,", "");
        int d1 = plain.indexOf("\"d1\": {");
        int u = plain.indexOf("\"u\": {", d1);
        String damaged = plain.substring(0, u) + "\"v\": {" + plain.substring(u + 6);
        Files.writeString(reg, damaged);
        Cli.Run info = Cli.run("ls", s.toString(), "--arrays");
        assertEquals(AtlasCli.EXIT_OK, info.code(), "it opens: " + info);
        assertEquals(List.of("t", "u", "v"), info.out().lines().toList());
        Cli.Run r = verify(s);
        assertEquals(AtlasCli.EXIT_DAMAGED, r.code(), r.toString());
        assertTrue(r.out().contains("CROSS_CHECK u/data.af: the file set of array 'u' holds entries of registered datasets [d1]"),
                r.out());
        assertTrue(r.out().contains("CROSS_CHECK v/data.af: the registry declares array 'v' (datasets [d1]) but its file set"
                + " is missing"), r.out());
    }

    @Test
    void progressLinesNameFileSetsBlocksAndFindings() {
        java.io.StringWriter text = new java.io.StringWriter();
        VerifyCommand.Progress p = new VerifyCommand.Progress(new java.io.PrintWriter(text), false, 0);
        p.accept(new dev.atlas.integrity.VerifyProgress("t/data.1.af", 1, 2, 1234, 5 << 20, 1));
        p.finish();
        List<String> lines = text.toString().lines().toList();
        assertEquals("verify: 1/2 file sets, 1,234 blocks (" + Values.bytes(5 << 20) + "), 1 finding(s); at t/data.1.af",
                lines.get(0));
        assertTrue(lines.get(1).startsWith("verify: done in "), lines.toString());
        java.io.StringWriter none = new java.io.StringWriter();
        VerifyCommand.Progress q = new VerifyCommand.Progress(new java.io.PrintWriter(none), true, 0);
        q.accept(new dev.atlas.integrity.VerifyProgress("t/data.1.af", 1, 2, 1, 1, 0));
        q.finish();
        assertEquals("", none.toString(), "--quiet");
    }

    @Test
    void aMissingTargetIsNotFound() {
        Cli.Run r = verify(tmp.resolve("nothing-here"));
        assertEquals(AtlasCli.EXIT_NOT_FOUND, r.code(), r.toString());
    }
}
