package io.evonas.nas.graph;

/**
 * How a vertex's size relates to its inputs' sizes: the only thing the size solver knows of a computation.
 *
 * <ul>
 *   <li>{@link #IMMUTABLE}: a fixed size; every neuron kept, none inserted (graph inputs).</li>
 *   <li>{@link #ABSORB}: output size independent of the input size (Dense, Conv); its input neurons are the
 *       output neurons of the vertex feeding it.</li>
 *   <li>{@link #STACK}: output = the inputs one after the other (concatenation), so
 *       {@code nout = Σ nout(input)}.</li>
 *   <li>{@link #INVARIANT}: output neuron {@code i} is made of input neuron {@code i} of every input (elementwise
 *       add or multiply, batch norm, activation, pooling), so {@code nout = nout(input)} for every input.</li>
 * </ul>
 */
public enum SizeKind {
    IMMUTABLE, ABSORB, STACK, INVARIANT;

    /** Whether sizes propagate through this kind (STACK and INVARIANT). */
    public boolean transparent() {
        return this == STACK || this == INVARIANT;
    }
}
