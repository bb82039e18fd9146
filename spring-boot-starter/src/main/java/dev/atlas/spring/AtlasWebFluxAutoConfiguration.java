package dev.atlas.spring;

import dev.atlas.http.AtlasRoutes;
import dev.atlas.http.ServerOptions;
import dev.atlas.runtime.EngineResources;
import dev.atlas.store.Atlas;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

/**
 * The routes of the {@link Atlas} bean ({@link AtlasAutoConfiguration}'s, or the application's own)
 * in a WebFlux application, unless {@code atlas.http.enabled=false}: {@link AtlasRoutes} with the
 * application's {@link MeterRegistry} (request timers, and the engine's cache and store meters, in
 * whatever the application exports, Prometheus included) and a {@code RouterFunction<ServerResponse>}
 * serving them under {@code atlas.http.base-path} (default {@code /atlas}). Connection timeouts are
 * the web server's ({@code server.netty.*}); the routes' own request timeout and limits apply.
 */
@AutoConfiguration(after = AtlasAutoConfiguration.class)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.REACTIVE)
@ConditionalOnClass({RouterFunction.class, AtlasRoutes.class})
@ConditionalOnProperty(prefix = "atlas.http", name = "enabled", havingValue = "true", matchIfMissing = true)
@EnableConfigurationProperties(AtlasProperties.class)
public class AtlasWebFluxAutoConfiguration {
    /**
     * The routes of the {@link Atlas} bean, their meters (and the engine's) in the
     * application's {@link MeterRegistry} when there is one (else in a Prometheus registry of
     * their own, scraped at {@code <base-path>/metrics}). Closed with the context.
     */
    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnBean(Atlas.class)
    public AtlasRoutes atlasRoutes(Atlas atlas, AtlasProperties p, ObjectProvider<EngineResources> resources,
            ObjectProvider<MeterRegistry> registry) {
        return AtlasRoutes.create(atlas, serverOptions(p, resources.getIfAvailable(), registry.getIfAvailable()));
    }

    /** {@code atlas.http.*} as the routes' options. */
    static ServerOptions serverOptions(AtlasProperties p, EngineResources resources, MeterRegistry registry) {
        AtlasProperties.Http h = p.getHttp();
        ServerOptions.Builder b = ServerOptions.builder().basePath(h.getBasePath() == null ? "" : h.getBasePath())
                .resources(resources).meterRegistry(registry);
        if (h.getMaxElementsPerRequest() != null) {
            b.maxElementsPerRequest(h.getMaxElementsPerRequest());
        }
        if (h.getMaxElementsPerResponse() != null) {
            b.maxElementsPerResponse(h.getMaxElementsPerResponse());
        }
        if (h.getMaxJsonElements() != null) {
            b.maxJsonElements(h.getMaxJsonElements());
        }
        if (h.getMaxPngPixels() != null) {
            b.maxPngPixels(h.getMaxPngPixels());
        }
        if (h.getMaxDatasetsPerBulk() != null) {
            b.maxDatasetsPerBulk(h.getMaxDatasetsPerBulk());
        }
        if (h.getRequestTimeout() != null) {
            b.requestTimeout(h.getRequestTimeout());
        }
        if (h.getStreamPieceSize() != null) {
            b.streamPieceBytes((int) Math.min(Integer.MAX_VALUE, h.getStreamPieceSize().toBytes()));
        }
        if (!h.getCorsOrigins().isEmpty()) {
            b.corsOrigins(h.getCorsOrigins());
        }
        return b.build();
    }

    /**
     * Every request under the base path, any method, to the routes: they answer HEAD, 404,
     * 405 and 501 themselves, as on reactor-netty, and write their reply through
     * {@link WebFluxExchange} (streaming, backpressure, buffer release as described there).
     */
    @Bean
    @ConditionalOnBean(AtlasRoutes.class)
    @ConditionalOnMissingBean(name = "atlasRouterFunction")
    public RouterFunction<ServerResponse> atlasRouterFunction(AtlasRoutes routes) {
        return RouterFunctions.route(request -> routes.serves(WebFluxExchange.uri(request.exchange().getRequest())),
                request -> ServerResponse.ok().build((exchange, context) -> routes.serve(new WebFluxExchange(exchange))));
    }
}
