/**
 * Optimisers with PyTorch's update equations and defaults, composable as gradient transforms (Optimisers.jl's
 * chains), keeping their state in the {@link io.evonas.layers.Parameter}s so that neuron surgery carries it along.
 *
 * <table>
 * <caption>Rules, PyTorch counterparts and state keys</caption>
 * <tr><th>rule</th><th>PyTorch</th><th>defaults</th><th>state keys (value-shaped)</th></tr>
 * <tr><td>{@link io.evonas.layers.optim.Descent}</td><td>SGD</td><td>lr required</td><td>none</td></tr>
 * <tr><td>{@link io.evonas.layers.optim.Momentum}</td><td>SGD(momentum)</td><td>mu 0.9</td>
 *     <td>momentum.buffer</td></tr>
 * <tr><td>{@link io.evonas.layers.optim.Nesterov}</td><td>SGD(momentum, nesterov=True)</td><td>mu 0.9</td>
 *     <td>nesterov.buffer</td></tr>
 * <tr><td>{@link io.evonas.layers.optim.Adam}</td><td>Adam</td><td>lr 1e-3, betas 0.9/0.999, eps 1e-8</td>
 *     <td>adam.m, adam.v, adam.step</td></tr>
 * <tr><td>{@link io.evonas.layers.optim.AdamW}</td><td>AdamW</td><td>as Adam, weight decay 1e-2</td>
 *     <td>adamw.m, adamw.v, adamw.step</td></tr>
 * <tr><td>{@link io.evonas.layers.optim.NAdam}</td><td>NAdam</td><td>lr 2e-3, betas 0.9/0.999, eps 1e-8,
 *     momentum decay 4e-3</td><td>nadam.m, nadam.v, nadam.step, nadam.muProduct</td></tr>
 * <tr><td>{@link io.evonas.layers.optim.AdaGrad}</td><td>Adagrad</td><td>lr 1e-2, eps 1e-10</td>
 *     <td>adagrad.sum</td></tr>
 * <tr><td>{@link io.evonas.layers.optim.RMSProp}</td><td>RMSprop</td><td>lr 1e-2, alpha 0.99, eps 1e-8,
 *     momentum 0, not centered</td><td>rmsprop.square, rmsprop.gradAvg (centered), rmsprop.buffer
 *     (momentum)</td></tr>
 * <tr><td>{@link io.evonas.layers.optim.WeightDecay}</td><td>the weight_decay argument</td><td>lambda required
 *     </td><td>none</td></tr>
 * <tr><td>{@link io.evonas.layers.optim.OptimiserChain}</td><td>composition</td><td></td>
 *     <td>its components'</td></tr>
 * </table>
 *
 * <p>Step counts are kept per element ({@code *.step}), so all state moves with neurons under
 * {@code resizeInPlace}; zero state, which inserted neurons get, is a fresh start for those elements.
 */
package io.evonas.layers.optim;
