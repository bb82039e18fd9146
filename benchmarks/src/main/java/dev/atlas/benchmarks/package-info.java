/** JMH benchmarks of the engine's hot paths; results and the commands that made them are in benchmarks/RESULTS.md. */
package dev.atlas.benchmarks;
