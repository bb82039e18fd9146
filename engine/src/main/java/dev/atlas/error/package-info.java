/** The exception tree: one unchecked root, {@link dev.atlas.error.AtlasException}, and its typed subclasses. */
package dev.atlas.error;
