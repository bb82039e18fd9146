/**
 * The Atlas store: thousands of datasets on one {@link dev.atlas.storage.Storage} prefix, laid out
 * variable-first (one {@code .af} file set per array name, one entry per dataset) with a registry
 * object that commits every flush.
 */
package dev.atlas.store;
