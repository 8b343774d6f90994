package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Tensor;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fused update kernels of the optimisers in the layers module, whose Javadoc has each rule's equations
 * (PyTorch's, in float32). Each reads the gradient {@code g}, advances the rule's state tensors (the
 * gradient's shape) and writes either the new value ({@code apply}: {@code out} is the parameter's value and
 * becomes {@code value - step}) or the step itself ({@code out} is {@code g}). The arguments are checked by the
 * caller; every tensor has {@code g}'s size.
 *
 * <p>Step counters ({@code steps}) are float tensors, one count per element, so that they move with neurons under
 * neuron surgery like every other state and a new (zero) element restarts its bias correction. Counts are exact up
 * to 2^24 and then stay there, where every correction of a usual beta is already 1 in float. Elements with equal
 * counts form runs (normally the whole tensor, or a few runs per row after inserting neurons); each run gets its
 * scalar corrections once and goes through the vector kernel. Large tensors are split over {@link Parallel} at
 * fixed boundaries, so results do not depend on the thread count.
 */
public final class OptimiserSteps {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int VL = SPECIES.length();
    /** Elements per part when a step is split over {@link Parallel}; below two parts it stays on the caller. */
    private static final int GRAIN = 1 << 15;

    private OptimiserSteps() {
    }

    /** Runs {@code task} over {@code [0, n)}, split over the worker pool when {@code n} is large. */
    private static void forRange(int n, Parallel.RangeTask task) {
        if (n < 2 * GRAIN) {
            task.run(0, n);
        } else {
            Parallel.forRange(n, GRAIN, task);
        }
    }

    // ---------------------------------------------------------------- momentum, Nesterov

    /** Advances {@code buffer} by {@code g}; the step is {@code lr * u}, {@code u} the buffer or {@code g + mu b}. */
    public static void momentum(Tensor g, Tensor buffer, Tensor out, float lr, float mu, boolean nesterov,
                                boolean apply) {
        float[] gd = g.data();
        int go = g.offset();
        float[] bd = buffer.data();
        int bo = buffer.offset();
        float[] od = out.data();
        int oo = out.offset();
        forRange(g.size(), (from, to) -> momentumKernel(gd, go + from, bd, bo + from, od, oo + from, to - from, lr,
                mu, nesterov, apply));
    }

    private static void momentumKernel(float[] g, int go, float[] b, int bo, float[] o, int oo, int n, float lr,
                                       float mu, boolean nesterov, boolean apply) {
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += VL) {
            FloatVector gv = FloatVector.fromArray(SPECIES, g, go + i);
            FloatVector bv = FloatVector.fromArray(SPECIES, b, bo + i).mul(mu).add(gv);
            bv.intoArray(b, bo + i);
            FloatVector u = nesterov ? gv.add(bv.mul(mu)) : bv;
            if (apply) {
                FloatVector.fromArray(SPECIES, o, oo + i).sub(u.mul(lr)).intoArray(o, oo + i);
            } else {
                u.mul(lr).intoArray(o, oo + i);
            }
        }
        for (; i < n; i++) {
            float gi = g[go + i];
            float bi = b[bo + i] * mu + gi;
            b[bo + i] = bi;
            float u = nesterov ? gi + bi * mu : bi;
            if (apply) {
                o[oo + i] = o[oo + i] - u * lr;
            } else {
                o[oo + i] = u * lr;
            }
        }
    }

    // ---------------------------------------------------------------- AdaGrad

    /** {@code s += g²}; the step is {@code lr g / (√s + eps)}. */
    public static void adaGrad(Tensor g, Tensor sum, Tensor out, float lr, float eps, boolean apply) {
        float[] gd = g.data();
        int go = g.offset();
        float[] sd = sum.data();
        int so = sum.offset();
        float[] od = out.data();
        int oo = out.offset();
        forRange(g.size(), (from, to) -> adaGradKernel(gd, go + from, sd, so + from, od, oo + from, to - from, lr,
                eps, apply));
    }

    private static void adaGradKernel(float[] g, int go, float[] s, int so, float[] o, int oo, int n, float lr,
                                      float eps, boolean apply) {
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += VL) {
            FloatVector gv = FloatVector.fromArray(SPECIES, g, go + i);
            FloatVector sv = FloatVector.fromArray(SPECIES, s, so + i).add(gv.mul(gv));
            sv.intoArray(s, so + i);
            FloatVector u = gv.mul(lr).div(sv.sqrt().add(eps));
            if (apply) {
                FloatVector.fromArray(SPECIES, o, oo + i).sub(u).intoArray(o, oo + i);
            } else {
                u.intoArray(o, oo + i);
            }
        }
        for (; i < n; i++) {
            float gi = g[go + i];
            float si = s[so + i] + gi * gi;
            s[so + i] = si;
            float u = gi * lr / ((float) Math.sqrt(si) + eps);
            o[oo + i] = apply ? o[oo + i] - u : u;
        }
    }

    // ---------------------------------------------------------------- Adam, AdamW

    /**
     * One Adam step with decoupled decay {@code wd} (0 for Adam): {@code apply}: {@code p = p * (1 - lr * wd) - u},
     * else {@code g = lr * wd * p + u}, where {@code u} is Adam's step.
     */
    public static void adam(Tensor g, Tensor m, Tensor v, Tensor steps, Tensor p, Tensor out, double lr,
                            double beta1, double beta2, double eps, double wd, boolean apply) {
        float[] gd = g.data();
        int go = g.offset();
        float[] md = m.data();
        float[] vd = v.data();
        float[] sd = steps.data();
        float[] pd = p.data();
        float[] od = out.data();
        int mo = m.offset();
        int vo = v.offset();
        int so = steps.offset();
        int po = p.offset();
        int oo = out.offset();
        // 1 - beta in double, as PyTorch passes it: 1 - (float) 0.999 is 1.3e-5 off
        AdamConsts c = new AdamConsts((float) beta1, (float) (1 - beta1), (float) beta2, (float) (1 - beta2),
                (float) eps, (float) (apply ? 1 - lr * wd : lr * wd), wd != 0, apply);
        int n = g.size();
        for (int from = 0; from < n; ) {
            int to = runEnd(sd, so, from, n);
            float t = sd[so + from] + 1f;
            Arrays.fill(sd, so + from, so + to, t);
            float stepSize = (float) (lr / (1 - Math.pow(beta1, t)));
            float bc2Sqrt = (float) Math.sqrt(1 - Math.pow(beta2, t));
            int f = from;
            forRange(to - from, (a, b) -> adamKernel(gd, go + f + a, md, mo + f + a, vd, vo + f + a,
                    pd, po + f + a, od, oo + f + a, b - a, stepSize, bc2Sqrt, c));
            from = to;
        }
    }

    /** The constants of one call. {@code decay}: the factor on {@code p} ({@code 1 - lr wd} or {@code lr wd}). */
    private record AdamConsts(float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float eps,
                              float decay, boolean decays, boolean apply) {
    }

    private static void adamKernel(float[] g, int go, float[] m, int mo, float[] v, int vo, float[] p, int po,
                                   float[] o, int oo, int n, float stepSize, float bc2Sqrt, AdamConsts c) {
        float b1 = c.beta1();
        float b2 = c.beta2();
        float c1 = c.oneMinusBeta1();
        float c2 = c.oneMinusBeta2();
        float eps = c.eps();
        float decay = c.decay();
        boolean decays = c.decays();
        boolean apply = c.apply();
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += VL) {
            FloatVector gv = FloatVector.fromArray(SPECIES, g, go + i);
            FloatVector mv = FloatVector.fromArray(SPECIES, m, mo + i).mul(b1).add(gv.mul(c1));
            FloatVector vv = FloatVector.fromArray(SPECIES, v, vo + i).mul(b2).add(gv.mul(gv).mul(c2));
            mv.intoArray(m, mo + i);
            vv.intoArray(v, vo + i);
            FloatVector u = mv.mul(stepSize).div(vv.sqrt().div(bc2Sqrt).add(eps));
            if (apply) {
                FloatVector.fromArray(SPECIES, p, po + i).mul(decay).sub(u).intoArray(o, oo + i);
            } else if (decays) {
                FloatVector.fromArray(SPECIES, p, po + i).mul(decay).add(u).intoArray(o, oo + i);
            } else {
                u.intoArray(o, oo + i);
            }
        }
        for (; i < n; i++) {
            float gi = g[go + i];
            float mi = m[mo + i] * b1 + gi * c1;
            float vi = v[vo + i] * b2 + gi * gi * c2;
            m[mo + i] = mi;
            v[vo + i] = vi;
            float u = mi * stepSize / ((float) Math.sqrt(vi) / bc2Sqrt + eps);
            if (apply) {
                o[oo + i] = p[po + i] * decay - u;
            } else if (decays) {
                o[oo + i] = p[po + i] * decay + u;
            } else {
                o[oo + i] = u;
            }
        }
    }

    // ---------------------------------------------------------------- NAdam

    /** One NAdam step with momentum decay {@code psi}; {@code prods} holds the momentum product per element. */
    public static void nAdam(Tensor g, Tensor m, Tensor v, Tensor steps, Tensor prods, Tensor out, double lr,
                             double beta1, double beta2, double epsilon, double psi, boolean apply) {
        float[] gd = g.data();
        int go = g.offset();
        float[] md = m.data();
        float[] vd = v.data();
        float[] sd = steps.data();
        float[] pd = prods.data();
        float[] od = out.data();
        int mo = m.offset();
        int vo = v.offset();
        int so = steps.offset();
        int po = prods.offset();
        int oo = out.offset();
        float b1 = (float) beta1;
        float b2 = (float) beta2;
        float c1 = (float) (1 - beta1);
        float c2 = (float) (1 - beta2);
        float eps = (float) epsilon;
        int n = g.size();
        for (int from = 0; from < n; ) {
            int to = runEnd(sd, so, from, n);
            float t = sd[so + from] + 1f;
            // equal counts mean equal products (both follow from the same steps with the same beta1 and psi), so
            // the run's first element speaks for the run
            float prod = (float) ((t == 1f ? 1f : pd[po + from]) * nAdamMomentum(beta1, psi, t));
            Arrays.fill(sd, so + from, so + to, t);
            Arrays.fill(pd, po + from, po + to, prod);
            double mu = nAdamMomentum(beta1, psi, t);
            double muNext = nAdamMomentum(beta1, psi, t + 1.0);
            float gScale = (float) (lr * (1 - mu) / (1 - prod));
            float mScale = (float) (lr * muNext / (1 - prod * muNext));
            float bc2 = (float) (1 - Math.pow(beta2, t));
            int f = from;
            forRange(to - from, (a, b) -> nAdamKernel(gd, go + f + a, md, mo + f + a, vd, vo + f + a,
                    od, oo + f + a, b - a, b1, c1, b2, c2, eps, bc2, gScale, mScale, apply));
            from = to;
        }
    }

    /** NAdam's momentum coefficient {@code mu} of step {@code t}. */
    private static double nAdamMomentum(double beta1, double psi, double t) {
        return beta1 * (1 - 0.5 * Math.pow(0.96, t * psi));
    }

    private static void nAdamKernel(float[] g, int go, float[] m, int mo, float[] v, int vo, float[] o, int oo,
                                    int n, float b1, float c1, float b2, float c2, float eps, float bc2, float gScale,
                                    float mScale, boolean apply) {
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += VL) {
            FloatVector gv = FloatVector.fromArray(SPECIES, g, go + i);
            FloatVector mv = FloatVector.fromArray(SPECIES, m, mo + i).mul(b1).add(gv.mul(c1));
            FloatVector vv = FloatVector.fromArray(SPECIES, v, vo + i).mul(b2).add(gv.mul(gv).mul(c2));
            mv.intoArray(m, mo + i);
            vv.intoArray(v, vo + i);
            FloatVector u = gv.mul(gScale).add(mv.mul(mScale)).div(vv.div(bc2).sqrt().add(eps));
            if (apply) {
                FloatVector.fromArray(SPECIES, o, oo + i).sub(u).intoArray(o, oo + i);
            } else {
                u.intoArray(o, oo + i);
            }
        }
        for (; i < n; i++) {
            float gi = g[go + i];
            float mi = m[mo + i] * b1 + gi * c1;
            float vi = v[vo + i] * b2 + gi * gi * c2;
            m[mo + i] = mi;
            v[vo + i] = vi;
            float u = (gi * gScale + mi * mScale) / ((float) Math.sqrt(vi / bc2) + eps);
            o[oo + i] = apply ? o[oo + i] - u : u;
        }
    }

    // ---------------------------------------------------------------- RMSProp

    /**
     * One RMSProp step; {@code gradAvg} is null unless centred, {@code buffer} null unless {@code momentum > 0}.
     */
    public static void rmsProp(Tensor g, Tensor square, Tensor gradAvg, Tensor buffer, Tensor out, double lr,
                               double alpha, double epsilon, double momentum, boolean apply) {
        float[] gd = g.data();
        int go = g.offset();
        boolean centered = gradAvg != null;
        boolean withMomentum = buffer != null;
        // the square sum stands in for state this configuration does not keep; the kernel never touches it
        Tensor a = centered ? gradAvg : square;
        Tensor b = withMomentum ? buffer : square;
        float[] sd = square.data();
        float[] ad = a.data();
        float[] bd = b.data();
        float[] od = out.data();
        int so = square.offset();
        int ao = a.offset();
        int bo = b.offset();
        int oo = out.offset();
        float[] k = {(float) lr, (float) alpha, (float) (1 - alpha), (float) epsilon, (float) momentum};
        forRange(g.size(), (from, to) -> rmsPropKernel(gd, go + from, sd, so + from, ad, ao + from,
                bd, bo + from, od, oo + from, to - from, k, centered, withMomentum, apply));
    }

    /** {@code k = {lr, alpha, 1 - alpha, eps, momentum}}, {@code 1 - alpha} rounded from double as in PyTorch. */
    private static void rmsPropKernel(float[] g, int go, float[] s, int so, float[] a, int ao, float[] b, int bo,
                                      float[] o, int oo, int n, float[] k, boolean centered, boolean withMomentum,
                                      boolean apply) {
        float lr = k[0];
        float alpha = k[1];
        float c = k[2];
        float eps = k[3];
        float mu = k[4];
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += VL) {
            FloatVector gv = FloatVector.fromArray(SPECIES, g, go + i);
            FloatVector sv = FloatVector.fromArray(SPECIES, s, so + i).mul(alpha).add(gv.mul(gv).mul(c));
            sv.intoArray(s, so + i);
            FloatVector r;
            if (centered) {
                FloatVector av = FloatVector.fromArray(SPECIES, a, ao + i).mul(alpha).add(gv.mul(c));
                av.intoArray(a, ao + i);
                r = sv.sub(av.mul(av)).sqrt().add(eps);
            } else {
                r = sv.sqrt().add(eps);
            }
            FloatVector u;
            if (withMomentum) {
                FloatVector bv = FloatVector.fromArray(SPECIES, b, bo + i).mul(mu).add(gv.div(r));
                bv.intoArray(b, bo + i);
                u = bv.mul(lr);
            } else {
                u = gv.mul(lr).div(r);
            }
            if (apply) {
                FloatVector.fromArray(SPECIES, o, oo + i).sub(u).intoArray(o, oo + i);
            } else {
                u.intoArray(o, oo + i);
            }
        }
        for (; i < n; i++) {
            float gi = g[go + i];
            float si = s[so + i] * alpha + gi * gi * c;
            s[so + i] = si;
            float r;
            if (centered) {
                float ai = a[ao + i] * alpha + gi * c;
                a[ao + i] = ai;
                r = (float) Math.sqrt(si - ai * ai) + eps;
            } else {
                r = (float) Math.sqrt(si) + eps;
            }
            float u;
            if (withMomentum) {
                float bi = b[bo + i] * mu + gi / r;
                b[bo + i] = bi;
                u = bi * lr;
            } else {
                u = gi * lr / r;
            }
            o[oo + i] = apply ? o[oo + i] - u : u;
        }
    }

    // ---------------------------------------------------------------- shared

    /** The end (exclusive) of the run of counts equal to {@code s[so + from]}, at most {@code n}. */
    static int runEnd(float[] s, int so, int from, int n) {
        float t = s[so + from];
        FloatVector tv = FloatVector.broadcast(SPECIES, t);
        int i = from + 1;
        for (int up = n - VL; i <= up; i += VL) {
            VectorMask<Float> differs = FloatVector.fromArray(SPECIES, s, so + i).compare(VectorOperators.NE, tv);
            if (differs.anyTrue()) {
                return i + differs.firstTrue();
            }
        }
        while (i < n && s[so + i] == t) {
            i++;
        }
        return i;
    }

    /** Whether every element of {@code t} is finite. */
    public static boolean allFinite(Tensor t) {
        float[] x = t.data();
        int o = t.offset();
        int n = t.size();
        // x * 0 is 0 for finite x and NaN for NaN or infinite x, so the sum is NaN exactly when one is not finite.
        FloatVector acc = FloatVector.zero(SPECIES);
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += VL) {
            acc = acc.add(FloatVector.fromArray(SPECIES, x, o + i).mul(0f));
        }
        float sum = Lanes.sum(acc);
        for (; i < n; i++) {
            sum += x[o + i] * 0f;
        }
        return sum == 0f;
    }
}
