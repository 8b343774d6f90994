/**
 * Benchmarks: the mains behind {@code bench/run <name>}, each printing lines comparable with its anchor, and the
 * JMH benchmarks of the same kernels.
 */
package io.evonas.bench;
