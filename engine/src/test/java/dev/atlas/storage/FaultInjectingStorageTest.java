package dev.atlas.storage;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.atlas.error.StorageException;
import dev.atlas.testing.FaultInjectingStorage;
import dev.atlas.testing.StorageContract;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

/** The fault injector itself: it passes the contract when idle and fails exactly what it is told to. */
class FaultInjectingStorageTest extends StorageContract {
    @Override
    protected Storage storage() {
        return new FaultInjectingStorage(InMemoryStorage.create());
    }

    @Test
    void failsTheNthCallOnlyAndCrashesFromAGivenCall() {
        InMemoryStorage mem = InMemoryStorage.create();
        FaultInjectingStorage s = new FaultInjectingStorage(mem).failCall(2);
        s.put("a", body(new byte[] {1}, 1)).block(TIMEOUT);
        StepVerifier.create(s.put("b", body(new byte[] {2}, 1))).expectError(StorageException.class).verify(TIMEOUT);
        assertNull(mem.getBytes("b"), "a failed call never reaches the delegate");
        s.put("c", body(new byte[] {3}, 1)).block(TIMEOUT);
        assertEquals(3, s.calls());

        FaultInjectingStorage crashed = new FaultInjectingStorage(mem).crashAt(2);
        crashed.head("a").block(TIMEOUT);
        StepVerifier.create(crashed.head("a")).expectError(StorageException.class).verify(TIMEOUT);
        StepVerifier.create(crashed.head("a")).expectError(StorageException.class).verify(TIMEOUT);
    }

    @Test
    void failsAPutAfterKBytesAndDelays() {
        InMemoryStorage mem = InMemoryStorage.create();
        FaultInjectingStorage s = new FaultInjectingStorage(mem).failPutAfterBytes(1500);
        StepVerifier.create(s.put("big", body(bytes(4000, 1), 1000))).expectError(StorageException.class).verify(TIMEOUT);
        assertNull(mem.getBytes("big"));
        s.put("small", body(bytes(1000, 1), 1000)).block(TIMEOUT);

        FaultInjectingStorage slow = new FaultInjectingStorage(mem).delay(Duration.ofMillis(50));
        long t0 = System.nanoTime();
        slow.head("small").block(TIMEOUT);
        assertEquals(true, System.nanoTime() - t0 >= 45_000_000L);
    }
}
