package dev.atlas.storage.local;

import static dev.atlas.testing.Await.TIMEOUT;

import dev.atlas.error.ObjectChangedException;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.StoredObject;
import dev.atlas.testing.StorageContract;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process {@link LocalCasProcessesTest} starts four of: once the go file (second argument)
 * exists, it increments the decimal counter object {@code counter} under the store root (first
 * argument) {@code K} (third argument) times, each by compare-and-swap: read the object and its
 * version, write the successor naming that version, and on {@link ObjectChangedException} start
 * over. Prints how many attempts lost a race.
 */
public final class CasCounterChild {
    private CasCounterChild() {
    }

    static final String KEY = "counter";

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        Path go = Path.of(args[1]);
        int increments = Integer.parseInt(args[2]);
        EngineResources resources = EngineResources.create(1, 2, PooledByteBufAllocator.DEFAULT);
        int retries = 0;
        try (LocalStorage storage = LocalStorage.open(root, resources)) {
            while (!Files.exists(go)) {
                Thread.sleep(1);
            }
            for (int i = 0; i < increments; i++) {
                while (true) {
                    StoredObject o = storage.getIfChanged(KEY, null, 64).block(TIMEOUT);
                    long n = Long.parseLong(new String(StorageContract.bytesOf(o.content()), StandardCharsets.US_ASCII));
                    byte[] next = Long.toString(n + 1).getBytes(StandardCharsets.US_ASCII);
                    try {
                        storage.putIfMatch(KEY, o.info().version(), StorageContract.body(next, next.length))
                                .block(TIMEOUT);
                        break;
                    } catch (ObjectChangedException lost) {
                        retries++;
                    }
                }
            }
        }
        resources.disposeLater().block(TIMEOUT);
        System.out.println("retries " + retries);
        System.exit(0);
    }
}
