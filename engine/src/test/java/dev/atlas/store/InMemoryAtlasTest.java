package dev.atlas.store;

import dev.atlas.storage.InMemoryStorage;
import dev.atlas.storage.Storage;

/** The Atlas store's behaviours on the in-memory storage. */
class InMemoryAtlasTest extends AtlasContract {
    @Override
    protected Storage newStorage() {
        return InMemoryStorage.create();
    }
}
