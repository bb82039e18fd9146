package dev.atlas.spring;

import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.s3.S3Environment;
import dev.atlas.storage.s3.S3Storage;
import dev.atlas.storage.s3.S3StorageOptions;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.StoreUri;
import java.time.Duration;

/**
 * Opens an {@code s3://bucket/prefix} store. A class of its own so that atlas-storage-s3 (an
 * optional dependency of the starter) is loaded only for S3 stores; {@link AtlasStore} checks it is
 * there before it touches this class.
 */
final class S3Opener {
    private S3Opener() {
    }

    static AtlasStore open(StoreUri.S3 location, AtlasProperties p, AtlasOptions options, EngineResources resources) {
        // Endpoint and region as the atlas tool resolves them: atlas.s3.* first, then the AWS environment and profile.
        S3StorageOptions.Builder b = S3Environment.options(location.bucket(), p.getS3().getEndpoint(), p.getS3().getRegion(),
                p.getS3().isPathStyle(), System.getenv());
        String prefix = location.prefix();
        S3Storage storage = S3Storage.open(b.build(), resources);
        try {
            Atlas atlas = (p.isCreate() ? Atlas.openOrCreate(storage, prefix, options) : Atlas.open(storage, prefix, options))
                    .block(Duration.ofMinutes(2));
            return AtlasStore.of(location.toString(), atlas, storage::close);
        } catch (RuntimeException e) {
            storage.close();
            throw e;
        }
    }
}
