/**
 * Reverse-mode automatic differentiation over {@code io.evonas.tensor}: a define-by-run tape, one gradient rule
 * per primitive, and gradient checking by central differences. Filled by the autodiff issue.
 */
package io.evonas.autodiff;
