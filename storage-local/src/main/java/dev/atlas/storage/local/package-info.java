/**
 * Local filesystem {@code Storage} backend. Not implemented yet: this module only reserves its place
 * in the build (see the storage-local issue).
 */
package dev.atlas.storage.local;
