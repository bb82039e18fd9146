package dev.atlas.storage.s3;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.error.NotFoundException;
import dev.atlas.format.DType;
import dev.atlas.storage.Storage;
import dev.atlas.storage.StorageKind;
import dev.atlas.storage.StorageMeters;
import dev.atlas.storage.StorageMeters.Operation;
import dev.atlas.storage.StorageMeters.Outcome;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.DatasetView;
import dev.atlas.storage.s3.metrics.S3Metrics;
import dev.atlas.testing.EngineTestBase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A store on S3 (S3Mock) counts its storage calls under {@code backend=s3}: the puts of a flush,
 * the range GETs of a cold read with the bytes they brought, and a GET of a key nobody wrote as
 * not found; {@link S3Metrics} shows the same work as S3 request attempts and payload bytes.
 */
@ExtendWith(S3Servers.class)
class S3MetersTest extends EngineTestBase {

    @Test
    void aStoreOnS3CountsItsCallsUnderTheS3Backend() {
        StorageMeters m = resources.storageMeters();
        m.enable();
        try (S3Storage s3 = S3Storage.open(S3Servers.get(S3Servers.Kind.S3MOCK)
                .options("meters-" + UUID.randomUUID() + "/").build(), resources)) {
            assertEquals(StorageKind.S3, s3.kind());
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            new S3Metrics(s3).bindTo(registry);
            long puts = m.calls(StorageKind.S3, Operation.PUT, Outcome.OK);
            long written = m.bytes(StorageKind.S3, Operation.PUT);
            AtlasOptions options = AtlasOptions.builder(resources).tempDirectory(tmp).build();
            Atlas a = Atlas.create(s3, "", options).block(TIMEOUT);
            try {
                DatasetView v = a.createDataset("d").block(TIMEOUT);
                v.defineArray("x", ArraySpec.of(DType.FLOAT32, 128, 128)).block(TIMEOUT);
                float[] vals = new float[128 * 128];
                for (int i = 0; i < vals.length; i++) {
                    vals[i] = i;
                }
                try (NdArray data = NdArray.ofFloats(new long[] {128, 128}, vals)) {
                    v.writeArray("x", new long[2], data).block(TIMEOUT);
                }
                a.flush().block(TIMEOUT);
            } finally {
                a.close().block(TIMEOUT);
            }
            assertTrue(m.calls(StorageKind.S3, Operation.PUT, Outcome.OK) > puts, "puts of the flush");
            assertTrue(m.bytes(StorageKind.S3, Operation.PUT) > written, "bytes written");

            resources.caches().invalidateAll();
            long reads = m.calls(StorageKind.S3, Operation.READ, Outcome.OK);
            long readBytes = m.bytes(StorageKind.S3, Operation.READ);
            long readNanos = m.nanos(StorageKind.S3, Operation.READ, Outcome.OK);
            Atlas b = Atlas.open(s3, "", options).block(TIMEOUT);
            try (NdArray r = b.dataset("d").readArray("x", new long[] {10, 0}, new long[] {4, 128}).block(TIMEOUT)) {
                assertEquals(10 * 128 + 5, r.getFloat(5));
            } finally {
                b.close().block(TIMEOUT);
            }
            assertTrue(m.calls(StorageKind.S3, Operation.READ, Outcome.OK) > reads, "range GETs of the cold read");
            assertTrue(m.bytes(StorageKind.S3, Operation.READ) > readBytes, "bytes they brought");
            assertTrue(m.nanos(StorageKind.S3, Operation.READ, Outcome.OK) > readNanos, "and their time");

            long missing = m.calls(StorageKind.S3, Operation.READ, Outcome.NOT_FOUND);
            Storage metered = m.meter(s3);
            assertThrows(NotFoundException.class, () -> metered.read("no/such/key", 0, 8).doOnNext(ByteBuf::release)
                    .block(TIMEOUT));
            assertEquals(missing + 1, m.calls(StorageKind.S3, Operation.READ, Outcome.NOT_FOUND));

            // The request-level view of the same work: attempts by kind and payload bytes.
            assertEquals((double) s3.stats().requests(S3Request.GET),
                    registry.get("atlas.s3.requests").tag("request", "get").functionCounter().count());
            assertTrue(registry.get("atlas.s3.requests").tag("request", "put").functionCounter().count() > 0);
            assertTrue(registry.get("atlas.s3.bytes").tag("direction", "in").functionCounter().count() > 0);
            assertTrue(registry.get("atlas.s3.bytes").tag("direction", "out").functionCounter().count() > 0);
            assertEquals(S3Request.values().length + 4, registry.getMeters().size(), "a fixed set of series");
        }
    }

    /** Micrometer is optional here too: only the metrics package mentions it. */
    @Test
    void onlyTheMetricsPackageReferencesMicrometer() throws Exception {
        Path classes = Path.of(S3Storage.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> offenders = new ArrayList<>();
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path p : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".class"))::iterator) {
                String rel = classes.relativize(p).toString().replace(java.io.File.separatorChar, '/');
                if (!rel.startsWith("dev/atlas/storage/s3/metrics/") && new String(Files.readAllBytes(p),
                        StandardCharsets.ISO_8859_1).contains("io/micrometer")) {
                    offenders.add(rel);
                }
            }
        }
        assertEquals(List.of(), offenders);
        assertTrue(new String(Files.readAllBytes(classes.resolve("dev/atlas/storage/s3/metrics/S3Metrics.class")),
                StandardCharsets.ISO_8859_1).contains("io/micrometer"), "the scan sees the binder's references");
    }
}
