package dev.atlas.array;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.NotFoundException;
import dev.atlas.internal.format.CorpusJson;
import dev.atlas.format.DType;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.InMemoryStorage;
import dev.atlas.testing.FaultInjectingStorage;
import dev.atlas.testing.Interop;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import reactor.test.StepVerifier;

/**
 * Every interop file set opens with {@link ArrayFile#open} over {@link InMemoryStorage} and every
 * visible array, whole and in random windows, reads back as expected.json says.
 */
class ArrayFileReadTest {
    private static EngineResources resources;

    @BeforeAll
    static void start() {
        resources = EngineResources.create(2, 2, io.netty.buffer.PooledByteBufAllocator.DEFAULT);
    }

    @AfterAll
    static void stop() {
        resources.disposeLater().block(TIMEOUT);
    }

    static ArrayFileOptions options() {
        return ArrayFileOptions.builder(resources).readConcurrency(4).tailRead(256).build();
    }

    static InMemoryStorage load(Path corpus, JsonNode set) throws Exception {
        InMemoryStorage s = InMemoryStorage.create();
        for (JsonNode f : set.get("files")) {
            String p = f.get("path").asText();
            s.putBytes(p, Files.readAllBytes(corpus.resolve(p)));
        }
        return s;
    }

    @TestFactory
    Stream<DynamicTest> corpusFileSetsReadBackExactly() throws Exception {
        Path corpus = Interop.root().resolve("array-format");
        JsonNode exp = CorpusJson.MAPPER.readTree(corpus.resolve("expected.json").toFile());
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode set : exp.get("file_sets")) {
            tests.add(DynamicTest.dynamicTest(set.get("id").asText(), () -> checkSet(corpus, set)));
        }
        return tests.stream();
    }

    private static void checkSet(Path corpus, JsonNode set) throws Exception {
        InMemoryStorage storage = load(corpus, set);
        ArrayFile file = ArrayFile.open(storage, set.get("base").asText(), options()).block(TIMEOUT);
        assertEquals(set.get("layers").size(), file.numLayers());
        List<String> names = new ArrayList<>();
        set.get("visible_arrays").forEach(a -> names.add(a.get("name").asText()));
        assertEquals(names, file.listArrays());
        Random rnd = new Random(set.get("id").asText().hashCode());
        for (JsonNode a : set.get("visible_arrays")) {
            String name = a.get("name").asText();
            DType dtype = DType.parse(a.get("dtype").asText());
            List<JsonNode> flat = new ArrayList<>();
            CorpusJson.flatten(a.get("values"), a.get("shape").size(), flat);
            long[] shape = new long[a.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = a.get("shape").get(i).asLong();
            }
            try (NdArray whole = file.readArray(name).block(TIMEOUT)) {
                assertEquals(flat.size(), whole.size());
                for (int i = 0; i < flat.size(); i++) {
                    assertEquals(expectedElement(dtype, flat.get(i)), actualElement(whole, i), name + "[" + i + "]");
                }
            }
            // Random windows: compare with the same cells of the whole array.
            for (int trial = 0; trial < 5 && flat.size() > 0; trial++) {
                long[] start = new long[shape.length];
                long[] ext = new long[shape.length];
                for (int d = 0; d < shape.length; d++) {
                    start[d] = rnd.nextInt((int) shape[d]);
                    ext[d] = 1 + rnd.nextInt((int) (shape[d] - start[d]));
                }
                try (NdArray w = file.readArray(name, dtype, start, ext).block(TIMEOUT)) {
                    long[] idx = new long[shape.length];
                    for (long i = 0; i < w.size(); i++) {
                        long rem = i;
                        long flatIndex = 0;
                        for (int d = shape.length - 1; d >= 0; d--) {
                            idx[d] = rem % ext[d];
                            rem /= ext[d];
                        }
                        for (int d = 0; d < shape.length; d++) {
                            flatIndex = flatIndex * shape[d] + start[d] + idx[d];
                        }
                        assertEquals(expectedElement(dtype, flat.get((int) flatIndex)), actualElement(w, i),
                                name + " window element " + i);
                    }
                }
            }
            JsonNode attrs = a.has("attributes_copy_fallback") ? a.get("attributes_copy_fallback").get("attributes")
                    : a.get("attributes");
            assertEquals(attrs.size(), file.attributes(name).size(), name + " attributes");
            for (JsonNode kv : attrs) {
                assertEquals(kv.get("value"), CorpusJson.normalize(CorpusJson.attribute(
                        file.getAttribute(name, kv.get("key").asText()))), name + " attribute " + kv.get("key"));
            }
            if (a.get("stats_entry").isNull()) {
                assertNull(file.arrayStats(name));
            } else {
                assertEquals(a.get("stats_entry").get("row_count").asLong(), file.arrayStats(name).rowCount());
            }
        }
    }

    private static Object expectedElement(DType dtype, JsonNode e) {
        switch (dtype.kind()) {
            case STRING: return e.asText();
            case BINARY: return e.asText();
            case FLOAT32: return Long.parseLong(e.asText().substring(2), 16);
            case FLOAT64: return new BigInteger(e.asText().substring(2), 16).longValue();
            case UINT8: return e.bigIntegerValue().longValue() & 0xFF;
            case UINT16: return e.bigIntegerValue().longValue() & 0xFFFF;
            case UINT32: return e.bigIntegerValue().longValue() & 0xFFFF_FFFFL;
            default: return e.bigIntegerValue().longValue();
        }
    }

    private static Object actualElement(NdArray a, long i) {
        switch (a.dtype().kind()) {
            case STRING: return a.getString(i);
            case BINARY: return CorpusJson.hex(a.getBinary(i));
            case FLOAT32: return Float.floatToRawIntBits(a.getFloat(i)) & 0xFFFF_FFFFL;
            case FLOAT64: return Double.doubleToRawLongBits(a.getDouble(i));
            case INT8: return (long) a.getByte(i);
            case UINT8: return a.getByte(i) & 0xFFL;
            case INT16: return (long) a.getShort(i);
            case UINT16: return a.getShort(i) & 0xFFFFL;
            case INT32: return (long) a.getInt(i);
            case UINT32: return a.getInt(i) & 0xFFFF_FFFFL;
            default: return a.getLong(i);
        }
    }

    @Test
    void badRequestsAreTypedErrors() throws Exception {
        Path corpus = Interop.root().resolve("array-format");
        JsonNode exp = CorpusJson.MAPPER.readTree(corpus.resolve("expected.json").toFile());
        JsonNode grids = exp.get("file_sets").get(1);
        ArrayFile file = ArrayFile.open(load(corpus, grids), grids.get("base").asText(), options()).block(TIMEOUT);
        assertThrows(NotFoundException.class, () -> file.arrayMeta("nope"));
        StepVerifier.create(file.readArray("nope")).expectError(NotFoundException.class).verify(TIMEOUT);
        StepVerifier.create(file.readArray("temperature_grid", new long[] {0}, new long[] {1}))
                .expectError(InvalidArgumentException.class).verify(TIMEOUT);
        StepVerifier.create(file.readArray("temperature_grid", new long[] {4, 0}, new long[] {2, 1}))
                .expectError(InvalidArgumentException.class).verify(TIMEOUT);
        StepVerifier.create(file.readArray("temperature_grid", new long[] {-1, 0}, new long[] {1, 1}))
                .expectError(InvalidArgumentException.class).verify(TIMEOUT);
        StepVerifier.create(file.readArray("temperature_grid", DType.FLOAT32, new long[] {0, 0}, new long[] {1, 1}))
                .expectError(DTypeMismatchException.class).verify(TIMEOUT);
        StepVerifier.create(ArrayFile.open(InMemoryStorage.create(), "missing.af", options()))
                .expectError(NotFoundException.class).verify(TIMEOUT);
        StepVerifier.create(ArrayFile.open(InMemoryStorage.create(), "no-suffix", options()))
                .expectError(InvalidArgumentException.class).verify(TIMEOUT);
    }

    @Test
    void cancelledAndFailedReadsReleaseEverything() throws Exception {
        Path corpus = Interop.root().resolve("array-format");
        JsonNode exp = CorpusJson.MAPPER.readTree(corpus.resolve("expected.json").toFile());
        JsonNode grids = exp.get("file_sets").get(1);
        InMemoryStorage mem = load(corpus, grids);
        FaultInjectingStorage slow = new FaultInjectingStorage(mem).delay(Duration.ofMillis(20));
        ArrayFile file = ArrayFile.open(slow, grids.get("base").asText(), options()).block(TIMEOUT);
        for (int i = 0; i < 20; i++) {
            // A read that completes before the cancel hands its result over; close it.
            StepVerifier.create(file.readArray("wind_cube").doOnNext(NdArray::close))
                    .thenAwait(Duration.ofMillis(i * 3))
                    .thenCancel()
                    .verify(TIMEOUT);
        }
        int before = slow.calls();
        FaultInjectingStorage failing = new FaultInjectingStorage(mem);
        ArrayFile file2 = ArrayFile.open(failing, grids.get("base").asText(), options()).block(TIMEOUT);
        failing.crashAt(failing.calls() + 2);
        StepVerifier.create(file2.readArray("wind_cube")).expectError(dev.atlas.error.StorageException.class)
                .verify(TIMEOUT);
        assertEquals(true, before > 0);
        Thread.sleep(100); // let in-flight block fetches of cancelled reads finish before the leak check
    }

    @Test
    void stringResultsDecode() throws Exception {
        Path corpus = Interop.root().resolve("array-format");
        JsonNode exp = CorpusJson.MAPPER.readTree(corpus.resolve("expected.json").toFile());
        JsonNode grids = exp.get("file_sets").get(1);
        ArrayFile file = ArrayFile.open(load(corpus, grids), grids.get("base").asText(), options()).block(TIMEOUT);
        try (NdArray names = file.readArray("station_names").block(TIMEOUT)) {
            assertEquals(DType.STRING, names.dtype());
            assertEquals(9, names.size());
            assertEquals(new String(names.getString(0).getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8),
                    names.getString(0));
        }
    }
}
