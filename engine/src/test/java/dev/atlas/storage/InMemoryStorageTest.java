package dev.atlas.storage;

import dev.atlas.testing.StorageContract;

/** {@link InMemoryStorage} passes the storage contract. */
class InMemoryStorageTest extends StorageContract {
    @Override
    protected Storage storage() {
        return InMemoryStorage.create();
    }
}
