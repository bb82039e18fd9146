package dev.atlas.store;

import dev.atlas.format.DType;

/**
 * One array name of a store and how it is used: the number of datasets that declare it and its
 * dtype (one per name: a store refuses a second dtype for a name). See {@link Atlas#arrayUsage()}.
 *
 * @param name the array name
 * @param dtype its dtype
 * @param datasets how many datasets declare it (at least 1)
 */
public record ArrayUsage(String name, DType dtype, int datasets) {
}
