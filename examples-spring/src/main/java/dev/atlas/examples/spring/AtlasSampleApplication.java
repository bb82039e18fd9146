package dev.atlas.examples.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A Spring WebFlux application serving an Atlas store: nothing but the starter and
 * {@code application.yml} ({@code atlas.store}). The routes answer under {@code /atlas}
 * ({@code /atlas/datasets}, {@code /atlas/datasets/{ds}/arrays/{arr}/data?region=...},
 * {@code /atlas/arrays/{arr}/data?datasets=...}), the meters at {@code /actuator/prometheus}.
 *
 * <pre>{@code
 * java -jar atlas-examples-spring.jar --atlas.store=/data/store
 * }</pre>
 */
@SpringBootApplication
public class AtlasSampleApplication {
    public static void main(String[] args) {
        SpringApplication.run(AtlasSampleApplication.class, args);
    }
}
