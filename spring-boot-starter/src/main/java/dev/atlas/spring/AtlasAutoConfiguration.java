package dev.atlas.spring;

import dev.atlas.cache.BlockCache;
import dev.atlas.cache.ReadCaches;
import dev.atlas.cache.SlabCache;
import dev.atlas.metrics.AtlasMetrics;
import dev.atlas.runtime.EngineResources;
import dev.atlas.store.Atlas;
import io.netty.buffer.ByteBufAllocator;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of an Atlas store from the {@code atlas.*} properties ({@link AtlasProperties}),
 * active when {@code atlas.store} is set:
 * <ul>
 * <li>{@link EngineResources} (threads, buffer allocator, read caches sized by {@code atlas.cache.*}),
 * disposed with the context;</li>
 * <li>the {@link AtlasStore} opened on {@code atlas.store} and its {@link Atlas} handle, closed with
 * the context (before the resources);</li>
 * <li>{@link AtlasMetrics}, a Micrometer {@code MeterBinder} of the engine's and the store's meters
 * (caches, storage calls, codec threads, bulk reads, the live store), which Spring Boot binds to the
 * application's {@code MeterRegistry} whether or not the HTTP routes are on (binding the same meters
 * again, as the routes do, registers nothing twice);</li>
 * </ul>
 * The routes come from {@link AtlasWebFluxAutoConfiguration}, after this one.
 * Every bean backs off when the application defines its own of the same type.
 */
@AutoConfiguration
@ConditionalOnClass(Atlas.class)
@ConditionalOnProperty(prefix = "atlas", name = "store")
@EnableConfigurationProperties(AtlasProperties.class)
public class AtlasAutoConfiguration {

    /** The engine's threads, allocator and read caches ({@code atlas.engine.*}, {@code atlas.cache.*}). */
    @Bean(destroyMethod = "dispose")
    @ConditionalOnMissingBean
    public EngineResources atlasEngineResources(AtlasProperties p) {
        ByteBufAllocator alloc = dev.atlas.buffer.BlockBufferAllocator.shared();
        int codec = p.getEngine().getCodecThreads() != null ? p.getEngine().getCodecThreads() : EngineResources.DEFAULT_CODEC_THREADS;
        int io = p.getEngine().getIoThreads() != null ? p.getEngine().getIoThreads() : EngineResources.DEFAULT_IO_THREADS;
        ReadCaches caches = null;
        if (p.getCache().getSlabs() != null || p.getCache().getBlocks() != null) {
            ReadCaches d = ReadCaches.defaults(alloc);
            SlabCache slabs = p.getCache().getSlabs() == null ? d.slabs()
                    : SlabCache.create(d.slabs().options().withBudget(p.getCache().getSlabs().toBytes()), alloc);
            BlockCache blocks = p.getCache().getBlocks() == null ? d.blocks() : BlockCache.create(p.getCache().getBlocks().toBytes());
            caches = ReadCaches.of(slabs, blocks);
        }
        return caches == null ? EngineResources.create(codec, io, alloc) : EngineResources.create(codec, io, alloc, caches);
    }

    /** The store named by {@code atlas.store}, opened at startup; closed with the context. */
    @Bean
    @ConditionalOnMissingBean({AtlasStore.class, Atlas.class})
    public AtlasStore atlasStore(AtlasProperties p, EngineResources resources) {
        return AtlasStore.open(p, resources);
    }

    /** The open store's handle (closed by its {@link AtlasStore}, not here). */
    @Bean(destroyMethod = "")
    @ConditionalOnMissingBean
    @ConditionalOnBean(AtlasStore.class)
    public Atlas atlas(AtlasStore store) {
        return store.atlas();
    }

    /**
     * The engine's meters of the resources and of the store handle (when the context has one), as a
     * bean, so the application's registry gets them also without the routes. Micrometer is always
     * on this starter's class path (through {@code atlas-http}).
     */
    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnBean(EngineResources.class)
    public AtlasMetrics atlasMetrics(EngineResources resources, ObjectProvider<Atlas> atlas) {
        return new AtlasMetrics(resources, atlas.getIfAvailable());
    }
}
