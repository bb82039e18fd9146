package dev.atlas.internal.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atlas.error.AtlasException;
import dev.atlas.testing.Interop;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Damages corpus files at random (bit flips, byte smashes, hostile 64-bit words, truncation,
 * insertion, deletion) and decodes the whole file set each time: footers, stats, every block and
 * every visible array. The only acceptable failures are the engine's typed exceptions; anything
 * else (NPE, index errors, OOM, hangs) fails the test with the seed and case number that
 * reproduce it. Seed: {@code -Datlas.fuzz.seed=N}; cases: {@code -Datlas.fuzz.cases=N}.
 */
class CorruptionFuzzTest {
    private static final int DEFAULT_CASES = 50_000;
    /** Elements materialised per array; mutated shapes beyond it are refused with a typed error. */
    private static final long MAX_ELEMENTS = 1 << 16;

    private record FileSet(List<String> layers, List<byte[]> layerBytes, String stats, byte[] statsBytes) {
    }

    @Test
    void damagedFilesFailOnlyWithTypedErrors() throws Exception {
        Path corpus = Interop.root().resolve("array-format");
        JsonNode exp = CorpusFooterTest.expected(corpus);
        List<FileSet> sets = new ArrayList<>();
        for (JsonNode set : exp.get("file_sets")) {
            List<String> layers = new ArrayList<>();
            List<byte[]> bytes = new ArrayList<>();
            String stats = null;
            byte[] statsBytes = null;
            for (JsonNode f : set.get("files")) {
                String path = f.get("path").asText();
                if (f.get("role").asText().equals("stats")) {
                    stats = path;
                    statsBytes = Files.readAllBytes(corpus.resolve(path));
                } else {
                    layers.add(path);
                    bytes.add(Files.readAllBytes(corpus.resolve(path)));
                }
            }
            sets.add(new FileSet(layers, bytes, stats, statsBytes));
        }
        long seed = Long.getLong("atlas.fuzz.seed", System.nanoTime());
        int cases = Integer.getInteger("atlas.fuzz.cases", DEFAULT_CASES);
        System.out.println("CorruptionFuzzTest seed=" + seed + " cases=" + cases
                + " (rerun with -Datlas.fuzz.seed=" + seed + ")");
        Random rnd = new Random(seed);
        TreeMap<String, Integer> outcomes = new TreeMap<>();
        java.util.Map<FileSet, String> fingerprints = new java.util.IdentityHashMap<>();
        List<String> failures = new ArrayList<>();
        long start = System.nanoTime();
        for (int c = 0; c < cases; c++) {
            FileSet set = sets.get(rnd.nextInt(sets.size()));
            List<byte[]> layers = new ArrayList<>(set.layerBytes());
            byte[] stats = set.statsBytes();
            int target = rnd.nextInt(layers.size() + (stats == null ? 0 : 1));
            String how;
            if (target < layers.size()) {
                byte[][] out = new byte[1][];
                how = mutate(rnd, layers.get(target), out);
                layers.set(target, out[0]);
            } else {
                byte[][] out = new byte[1][];
                how = mutate(rnd, stats, out);
                stats = out[0];
            }
            String outcome;
            try {
                decodeEverything(set, layers, stats);
                // Decoded: to the same values (harmless), or silently to others. These files
                // have no checksums (the crate writes none); see ChecksumFuzzTest for ours.
                String fp = ChecksumFuzzTest.fingerprint(set.layers(), layers, set.stats(), stats);
                outcome = fp.equals(fingerprints.computeIfAbsent(set, k -> ChecksumFuzzTest.fingerprint(k.layers(),
                        k.layerBytes(), k.stats(), k.statsBytes()))) ? "decoded, same values" : "decoded, other values";
            } catch (AtlasException e) {
                outcome = e.getClass().getSimpleName();
            } catch (Throwable t) {
                outcome = "UNEXPECTED " + t.getClass().getSimpleName();
                if (failures.size() < 20) {
                    StringBuilder sb = new StringBuilder("case " + c + " (" + how + " of "
                            + (target < set.layers().size() ? set.layers().get(target) : set.stats()) + "): " + t);
                    for (StackTraceElement el : Arrays.copyOf(t.getStackTrace(), Math.min(6, t.getStackTrace().length))) {
                        sb.append("\n    at ").append(el);
                    }
                    failures.add(sb.toString());
                }
            }
            outcomes.merge(outcome, 1, Integer::sum);
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        System.out.println("CorruptionFuzzTest outcomes after " + cases + " cases in " + ms + " ms: " + outcomes);
        int silent = outcomes.getOrDefault("decoded, other values", 0);
        int harmless = outcomes.getOrDefault("decoded, same values", 0);
        System.out.printf("CorruptionFuzzTest on reference-written files (no checksums): %d of %d damaged sets detected"
                + " (%.1f %%), %d harmless, %d decode silently to other values%n", cases - silent - harmless
                - failures.size(), cases, 100.0 * (cases - silent - harmless) / cases, harmless, silent);
        assertTrue(failures.isEmpty(), "seed " + seed + ": untyped failures:\n" + String.join("\n", failures));
        assertEquals(cases, outcomes.values().stream().mapToInt(Integer::intValue).sum());
        assertTrue(outcomes.getOrDefault("CorruptFileException", 0) > cases / 10,
                "most damage must be detected as corruption: " + outcomes);
    }

    private static void decodeEverything(FileSet set, List<byte[]> layers, byte[] stats) {
        List<ByteBuffer> bufs = new ArrayList<>();
        for (byte[] b : layers) {
            bufs.add(ByteBuffer.wrap(b));
        }
        InMemoryFileSet fs = InMemoryFileSet.decode(set.layers(), bufs, set.stats(),
                stats == null ? null : ByteBuffer.wrap(stats), PooledByteBufAllocator.DEFAULT);
        for (int i = 0; i < fs.footers().size(); i++) {
            for (BlockMeta b : fs.footers().get(i).blocks()) {
                fs.block(i, b.id());
            }
        }
        for (String name : fs.view().arrays().keySet()) {
            fs.readAll(name, MAX_ELEMENTS);
        }
    }

    /** Applies one random kind of damage; returns its description. */
    static String mutate(Random rnd, byte[] in, byte[][] out) {
        byte[] b = in.clone();
        int kind = rnd.nextInt(7);
        switch (kind) {
            case 0: {
                int n = 1 + rnd.nextInt(4);
                for (int i = 0; i < n; i++) {
                    int at = rnd.nextInt(b.length);
                    b[at] ^= (byte) (1 << rnd.nextInt(8));
                }
                out[0] = b;
                return n + " bit flips";
            }
            case 1: {
                int at = rnd.nextInt(b.length);
                byte[] choices = {0, (byte) 0xFF, (byte) 0x80, 0x7F, 1};
                b[at] = choices[rnd.nextInt(choices.length)];
                out[0] = b;
                return "byte smash at " + at;
            }
            case 2: {
                // A hostile 64-bit word at an 8-aligned offset in the last 60 % (footer area).
                int from = (int) (b.length * 0.4);
                int at = from + rnd.nextInt(Math.max(1, b.length - from - 8));
                at -= at % 8;
                long[] words = {Long.MAX_VALUE, Long.MIN_VALUE, -1L, 0xFFFF_FFFFL, 1L << 40, -16L, rnd.nextLong()};
                long w = words[rnd.nextInt(words.length)];
                for (int i = 0; i < 8 && at + i < b.length; i++) {
                    b[at + i] = (byte) (w >>> (8 * i));
                }
                out[0] = b;
                return "word " + Long.toHexString(w) + " at " + at;
            }
            case 3: {
                int len = rnd.nextInt(b.length);
                out[0] = Arrays.copyOf(b, len);
                return "truncated to " + len;
            }
            case 4: {
                int len = rnd.nextInt(b.length);
                out[0] = Arrays.copyOfRange(b, b.length - len, b.length);
                return "head cut, kept last " + len;
            }
            case 5: {
                int at = rnd.nextInt(b.length + 1);
                int n = 1 + rnd.nextInt(16);
                byte[] r = new byte[b.length + n];
                System.arraycopy(b, 0, r, 0, at);
                for (int i = 0; i < n; i++) {
                    r[at + i] = (byte) rnd.nextInt(256);
                }
                System.arraycopy(b, at, r, at + n, b.length - at);
                out[0] = r;
                return n + " bytes inserted at " + at;
            }
            default: {
                int at = rnd.nextInt(b.length);
                int n = 1 + rnd.nextInt(Math.min(16, b.length - at));
                byte[] r = new byte[b.length - n];
                System.arraycopy(b, 0, r, 0, at);
                System.arraycopy(b, at + n, r, at, b.length - at - n);
                out[0] = r;
                return n + " bytes deleted at " + at;
            }
        }
    }
}
