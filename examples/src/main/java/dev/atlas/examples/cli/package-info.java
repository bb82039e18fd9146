/** The {@code atlas} command-line tool. */
package dev.atlas.examples.cli;
