/**
 * Layers whose parameters can be resized neuron by neuron (Dense, Conv, BatchNorm, pooling, activations), losses,
 * optimisers and initialisers. Every layer has a deep {@link io.evonas.layers.Layer#copy}; a
 * {@link io.evonas.layers.LazyResizable} defers neuron surgery so that several changes cost one copy of the
 * weights; {@code Dense.identity}, {@code Conv2D.identity} and {@code BatchNorm.identity} are inserted where a
 * mutation must keep the function.
 */
package io.evonas.layers;
