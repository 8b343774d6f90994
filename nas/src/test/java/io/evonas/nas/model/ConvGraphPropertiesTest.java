package io.evonas.nas.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.autodiff.Tape;
import io.evonas.layers.ForwardPass;
import io.evonas.nas.graph.CompGraph;
import io.evonas.nas.graph.Delta;
import io.evonas.nas.graph.GraphEdits;
import io.evonas.nas.graph.Merge;
import io.evonas.nas.graph.SizeChanges;
import io.evonas.nas.graph.SizeKind;
import io.evonas.nas.graph.Vertex;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The function-preserving operations on random convolutional graphs (convs, batch norm, residual sums, forks,
 * pooling): channel growth, an identity convolution inserted anywhere, and a concatenation edge added and removed
 * leave the output unchanged to 1e-5 (batch norm in inference mode, as a new channel's statistics are the identity).
 */
class ConvGraphPropertiesTest {
    static LongStream seeds() {
        return LongStream.range(0, 60).map(i -> 11 + i * 0x9E3779B97F4A7C15L);
    }

    private static float[] infer(CompGraph g, Tensor x) {
        ForwardPass pass = new ForwardPass(new Tape(), false, new SplittableRandom(1));
        return new GraphModel(g).forward(pass.tape().constant(x), pass).value().toArray();
    }

    private static void assertClose(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-5 * Math.max(1, Math.abs(expected[i])), "output " + i);
        }
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void functionPreservingOperationsKeepTheOutput(long seed) {
        CompGraph g = RandomGraphs.conv(seed);
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor x = RandomGraphs.images(seed);
        float[] before = infer(g, x);

        List<Vertex> convs = g.vertices().stream()
                .filter(v -> v.kind() == SizeKind.ABSORB && !g.outputs().contains(v)).toList();
        Vertex v = convs.get(rng.nextInt(convs.size()));
        assertTrue(SizeChanges.deltaNout(v, 1 + rng.nextInt(3), rng), "growing " + v);
        g.validate();
        assertClose(before, infer(g, x));

        List<Vertex> maps = g.vertices().stream()
                .filter(u -> u.kind() != SizeKind.IMMUTABLE && !(u.computation() instanceof Merge)
                        && u != g.outputs().getFirst() && !u.name().equals("gp"))
                .toList();
        Vertex at = maps.get(rng.nextInt(maps.size()));
        LayerEdits.insertIdentity(g, at, "id", true, 3, Activation.IDENTITY);
        g.validate();
        assertClose(before, infer(g, x));

        // An edge into a new concatenation after a vertex, from an earlier vertex with the same feature map.
        List<Shape> in = List.of(Shape.of(3, 1, 8, 8));
        Map<Vertex, Shape> shapes = Shapes.trace(g, in);
        Vertex to = maps.get(rng.nextInt(maps.size()));
        List<Vertex> sources = g.vertices().stream()
                .filter(u -> u != to && u.kind() != SizeKind.IMMUTABLE && !CompGraph.reaches(to, u)
                        && Shapes.sameExceptChannels(shapes.get(u), shapes.get(to)))
                .toList();
        if (!sources.isEmpty()) {
            Vertex from = sources.get(rng.nextInt(sources.size()));
            List<Object> state = RandomGraphs.fingerprint(g);
            java.util.Optional<Vertex> cat = LayerEdits.createEdgeThroughMerge(g, in, from, to, Merge.CONCAT,
                    "newcat", rng);
            if (cat.isPresent()) {
                g.validate();
                assertClose(before, infer(g, x));
                assertTrue(GraphEdits.removeEdge(g, from, cat.get(), rng));
                g.validate();
                assertClose(before, infer(g, x));
            } else {
                // Refused only for a size cycle: from is tied to what the new block would have to grow.
                assertEquals(state, RandomGraphs.fingerprint(g));
            }
        }
        assertArrayEquals(new int[] {3, RandomGraphs.OUTPUTS}, new int[] {x.dim(0), before.length / x.dim(0)});
    }
}
