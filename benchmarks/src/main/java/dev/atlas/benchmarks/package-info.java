/**
 * Benchmarks and measurement harnesses. Not implemented yet: this module only reserves its place in
 * the build (see the fast-path issue).
 */
package dev.atlas.benchmarks;
