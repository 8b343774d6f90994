package io.evonas.nas.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.evonas.layers.Loss;
import io.evonas.layers.Parameter;
import io.evonas.layers.optim.Momentum;
import io.evonas.nas.data.Batch;
import io.evonas.nas.data.MapIterator;
import io.evonas.nas.graph.CompGraph;
import io.evonas.nas.graph.InputShape;
import io.evonas.nas.graph.Vertex;
import io.evonas.nas.train.Trainer;
import io.evonas.tensor.Device;
import io.evonas.tensor.Devices;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.testing.Loopback;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A graph model and its batches moved to another device (the loopback test device, whose storage is not host
 * memory) train exactly as on the CPU: the path a GPU run takes.
 */
class GraphOnDeviceTest {
    private static CompGraph graph() {
        SplittableRandom rng = new SplittableRandom(4);
        Vertex in = Vertex.input("in", 1, InputShape.CONV2D);
        Vertex c = Vertices.conv2d("c", in, 4, 3, Activation.IDENTITY, rng);
        Vertex bn = Vertices.batchNorm("bn", c, Activation.RELU);
        Vertex a = Vertices.conv2d("a", bn, 4, 3, Activation.IDENTITY, rng);
        Vertex sum = Vertex.add("sum", bn, a);
        Vertex gp = Vertices.globalMeanPool("gp", Vertices.maxPool("pool", sum, 2));
        return new CompGraph(in, Vertices.dense("out", gp, 3, Activation.IDENTITY, rng));
    }

    private static List<Batch> batches() {
        SplittableRandom rng = new SplittableRandom(8);
        List<Batch> bs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            bs.add(Batch.of(Tensor.uniform(rng, -1, 1, 4, 1, 6, 6), new int[] {0, 1, 2, i % 3}));
        }
        return bs;
    }

    private static List<float[]> train(Device device) {
        GraphModel model = new GraphModel(graph());
        model.moveToInPlace(device);
        Trainer t = new Trainer(model, Loss.crossEntropy(), Momentum.of(0.05, 0.9), new SplittableRandom(1));
        List<float[]> out = new ArrayList<>();
        float[] losses = new float[3];
        int i = 0;
        for (Batch b : MapIterator.of(batches(), b -> b.to(device))) {
            assertSame(device, b.features().device());
            losses[i++] = t.step(b);
        }
        out.add(losses);
        for (Parameter p : model.parameters()) {
            assertSame(device, p.value().device());
            out.add(p.value().to(Devices.cpu()).toArray());
        }
        return out;
    }

    @Test
    void trainsOnAnotherDeviceBitForBit() {
        List<float[]> cpu = train(Devices.cpu());
        List<float[]> loop = train(Loopback.DEVICE);
        assertEquals(cpu.size(), loop.size());
        for (int i = 0; i < cpu.size(); i++) {
            assertArrayEquals(cpu.get(i), loop.get(i), "part " + i);
        }
    }

    @Test
    void batchesMoveFeaturesAndTargetsButKeepLabels() {
        Batch b = batches().getFirst();
        Batch moved = b.to(Loopback.DEVICE);
        assertSame(b.labels(), moved.labels());
        assertSame(Loopback.DEVICE, moved.features().device());
        assertSame(moved, moved.to(Loopback.DEVICE), "already there: the same batch");
        Batch regression = Batch.ofTargets(Tensor.zeros(2, 3), Tensor.zeros(2, 1)).to(Loopback.DEVICE);
        assertSame(Loopback.DEVICE, regression.targets().device());
    }
}
