package dev.atlas.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atlas.array.ArraySpec;
import dev.atlas.format.DType;
import dev.atlas.http.AtlasRoutes;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.reactive.function.server.RouterFunction;

/** The auto-configuration's beans, conditions and lifecycle, on real stores in a temporary directory. */
class AtlasAutoConfigurationTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    private final ReactiveWebApplicationContextRunner web = new ReactiveWebApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(AtlasAutoConfiguration.class, AtlasWebFluxAutoConfiguration.class));

    /** A store with one dataset, written and closed. */
    private Path store() {
        Path dir = tmp.resolve("store");
        EngineResources r = EngineResources.create();
        try {
            Atlas a = LocalAtlas.create(dir, AtlasOptions.builder(r).build()).block(TIMEOUT);
            a.createDataset("d").flatMap(ds -> ds.defineArray("t", ArraySpec.of(DType.INT32, 2, 2))).block(TIMEOUT);
            a.flush().block(TIMEOUT);
            a.close().block(TIMEOUT);
        } finally {
            r.disposeLater().block(TIMEOUT);
        }
        return dir;
    }

    @Test
    void opensTheStoreAndClosesItWithTheContext() {
        Path dir = store();
        AtomicReference<Atlas> atlas = new AtomicReference<>();
        AtomicReference<EngineResources> resources = new AtomicReference<>();
        web.withPropertyValues("atlas.store=" + dir, "atlas.cache.blocks=8MB", "atlas.engine.codec-threads=2",
                "atlas.http.base-path=/data", "atlas.http.max-elements-per-request=1000")
                .withBean(SimpleMeterRegistry.class)
                .run(ctx -> {
                    assertThat(ctx).hasNotFailed().hasSingleBean(Atlas.class).hasSingleBean(EngineResources.class)
                            .hasSingleBean(AtlasRoutes.class).hasBean("atlasRouterFunction");
                    atlas.set(ctx.getBean(Atlas.class));
                    resources.set(ctx.getBean(EngineResources.class));
                    assertThat(atlas.get().listDatasets()).containsExactly("d");
                    assertThat(resources.get().caches().blocks().stats().residentBytes()).isZero();
                    AtlasRoutes routes = ctx.getBean(AtlasRoutes.class);
                    assertThat(routes.serves("/data/health")).isTrue();
                    assertThat(routes.serves("/atlas/health")).isFalse();
                    // The routes' meters (and the engine's) are in the application's registry.
                    assertThat(routes.meterRegistry()).isSameAs(ctx.getBean(SimpleMeterRegistry.class));
                    assertThat(ctx.getBean(SimpleMeterRegistry.class).find("atlas.cache.requests").tag("cache", "slab")
                            .functionCounter()).isNotNull();
                });
        assertThat(resources.get().isDisposed()).as("engine resources disposed with the context").isTrue();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> atlas.get().dataset("d").readArray("t", new long[2], new long[] {2, 2})
                .block(TIMEOUT)).as("the store handle is closed with the context").isInstanceOf(RuntimeException.class);
    }

    @Test
    void nothingWithoutAStore() {
        web.run(ctx -> assertThat(ctx).hasNotFailed().doesNotHaveBean(Atlas.class).doesNotHaveBean(EngineResources.class)
                .doesNotHaveBean(RouterFunction.class));
    }

    @Test
    void noRoutesWhenDisabledOrNotWebFlux() {
        Path dir = store();
        web.withPropertyValues("atlas.store=" + dir, "atlas.http.enabled=false")
                .run(ctx -> assertThat(ctx).hasNotFailed().hasSingleBean(Atlas.class).doesNotHaveBean(AtlasRoutes.class)
                        .doesNotHaveBean(RouterFunction.class));
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(AtlasAutoConfiguration.class, AtlasWebFluxAutoConfiguration.class))
                .withPropertyValues("atlas.store=" + dir)
                .run(ctx -> assertThat(ctx).hasNotFailed().hasSingleBean(Atlas.class).doesNotHaveBean(AtlasRoutes.class));
    }

    @Test
    void backsOffForTheApplicationsOwnAtlas() {
        Path dir = store();
        web.withPropertyValues("atlas.store=" + tmp.resolve("not-opened"))
                .withUserConfiguration(OwnAtlas.class)
                .withPropertyValues("own.store=" + dir)
                .run(ctx -> {
                    assertThat(ctx).hasNotFailed().hasSingleBean(Atlas.class).doesNotHaveBean(AtlasStore.class)
                            .hasSingleBean(AtlasRoutes.class);
                    assertThat(ctx.getBean(Atlas.class)).isSameAs(ctx.getBean("ownAtlas"));
                });
    }

    @Test
    void refusesAMissingStoreOrAnUnknownScheme() {
        web.withPropertyValues("atlas.store=" + tmp.resolve("absent"))
                .run(ctx -> assertThat(ctx).hasFailed());
        web.withPropertyValues("atlas.store=ftp://host/x")
                .run(ctx -> assertThat(ctx.getStartupFailure()).rootCause().hasMessageContaining("unsupported store location"));
    }

    @Test
    void createsAStoreWhenAsked() {
        Path dir = tmp.resolve("fresh");
        web.withPropertyValues("atlas.store=" + dir.toUri(), "atlas.create=true")
                .run(ctx -> assertThat(ctx.getBean(Atlas.class).datasetCount()).isZero());
        assertThat(dir).isDirectory();
    }

    /** An application that opens its store itself. */
    @Configuration(proxyBeanMethods = false)
    static class OwnAtlas {
        @Bean(destroyMethod = "dispose")
        EngineResources ownResources() {
            return EngineResources.create();
        }

        @Bean(destroyMethod = "")
        Atlas ownAtlas(EngineResources r, org.springframework.core.env.Environment env) {
            return LocalAtlas.open(Path.of(env.getProperty("own.store")), AtlasOptions.builder(r).build()).block(TIMEOUT);
        }
    }
}
