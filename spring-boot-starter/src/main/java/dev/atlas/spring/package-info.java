/**
 * Spring Boot auto-configuration of an Atlas store and its HTTP routes as a WebFlux
 * {@code RouterFunction}: see {@link dev.atlas.spring.AtlasAutoConfiguration} and
 * {@link dev.atlas.spring.AtlasProperties}.
 */
package dev.atlas.spring;
