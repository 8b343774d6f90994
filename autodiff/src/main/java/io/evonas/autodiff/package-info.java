/**
 * Reverse-mode automatic differentiation over {@code io.evonas.tensor}, define-by-run: a {@link
 * io.evonas.autodiff.Tape} records the primitives of one forward pass ({@link io.evonas.autodiff.Ops}), and
 * {@link io.evonas.autodiff.Tape#backward} returns the gradients of the leaves that asked for them. There is no
 * compile step, since architectures change every generation. {@link io.evonas.autodiff.GradientCheck} compares
 * any function built from these primitives with central finite differences.
 */
package io.evonas.autodiff;
