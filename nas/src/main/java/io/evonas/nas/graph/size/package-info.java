/**
 * The size solver: which output neurons each vertex keeps and where new ones go when sizes change (NaiveNASlib's
 * neuron-selection problem), exact and fast. It knows nothing of tensors or layers: the graph layer describes its
 * graph as a {@link io.evonas.nas.graph.size.SizeProblem}, calls {@link io.evonas.nas.graph.size.SizeSolver} and
 * applies the index lists of the {@link io.evonas.nas.graph.size.SizeSolution} to its layers.
 *
 * <p>Pipeline: tie classes (union-find over tied positions) → atoms (classes with identical vertex multisets; keep
 * the top-k, inserts interchangeable) → a count problem over {@code (k_a, i_a)} per atom → a scan (one free atom)
 * or a branch and bound over ojAlgo LPs → index lists.
 */
package io.evonas.nas.graph.size;
