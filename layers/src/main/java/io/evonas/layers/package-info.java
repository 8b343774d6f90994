/**
 * Layers whose parameters can be resized neuron by neuron (Dense, Conv, BatchNorm, pooling, activations), losses,
 * optimisers and initialisers. Filled by the layers issue.
 */
package io.evonas.layers;
