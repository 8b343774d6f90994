package io.evonas.tensor;

import java.util.Arrays;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * A float32 tensor: a {@link Shape} over a contiguous row-major range of a {@link Storage}. Images are NCHW,
 * dense data NC. {@link #reshape} returns a view that shares the storage; {@link #copy} does not share.
 *
 * <pre>{@code
 * Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);   // [2, 3]
 * Tensor v = x.reshape(3, -1);                                    // [3, 2], same storage
 * float[] out = v.toArray();                                      // {1, 2, 3, 4, 5, 6}
 * }</pre>
 *
 * Tensors are mutable: kernels write into output tensors they are given, and {@code set}/{@code fill} change
 * elements. A tensor on another device than the CPU must be moved with {@link #to} before its elements are read.
 */
public final class Tensor {
    private final Shape shape;
    private final Storage storage;
    private final int offset;

    private Tensor(Shape shape, Storage storage, int offset) {
        if (offset < 0 || offset + shape.size() > storage.size()) {
            throw new IllegalArgumentException("tensor: view " + shape + " at offset " + offset
                    + " does not fit storage of " + storage.size() + " elements");
        }
        this.shape = shape;
        this.storage = storage;
        this.offset = offset;
    }

    /** A view of {@code shape} on {@code storage} starting at {@code offset}. */
    public static Tensor view(Storage storage, int offset, Shape shape) {
        return new Tensor(Objects.requireNonNull(shape, "shape"), Objects.requireNonNull(storage, "storage"), offset);
    }

    /** Zeros on the CPU. */
    public static Tensor zeros(int... dims) {
        return zeros(Shape.of(dims));
    }

    /** Zeros on the CPU. */
    public static Tensor zeros(Shape shape) {
        return zeros(shape, Devices.cpu());
    }

    /** Zeros on {@code device}. */
    public static Tensor zeros(Shape shape, Device device) {
        Objects.requireNonNull(shape, "shape");
        return new Tensor(shape, device.allocate(shape.size()), 0);
    }

    /** A CPU tensor with every element {@code value}. */
    public static Tensor full(float value, int... dims) {
        Tensor t = zeros(dims);
        Arrays.fill(t.data(), value);
        return t;
    }

    /** A CPU tensor holding a copy of {@code data}, whose length must equal the shape's size. */
    public static Tensor of(float[] data, int... dims) {
        Objects.requireNonNull(data, "data");
        return wrap(data.clone(), dims);
    }

    /** A CPU tensor backed by {@code data} itself (no copy); the length must equal the shape's size. */
    public static Tensor wrap(float[] data, int... dims) {
        Objects.requireNonNull(data, "data");
        Shape s = Shape.of(dims);
        if (s.size() != data.length) {
            throw new IllegalArgumentException("tensor: " + data.length + " values do not fill shape " + s
                    + " (" + s.size() + " elements)");
        }
        return new Tensor(s, new Devices.CpuStorage(data), 0);
    }

    /** A scalar (rank 0) CPU tensor. */
    public static Tensor scalar(float value) {
        return wrap(new float[] {value});
    }

    /** Uniform samples in {@code [low, high)} on the CPU. */
    public static Tensor uniform(RandomGenerator rng, float low, float high, int... dims) {
        Objects.requireNonNull(rng, "rng");
        if (!(low < high)) {
            throw new IllegalArgumentException("uniform: low " + low + " must be below high " + high);
        }
        Tensor t = zeros(dims);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = low + (high - low) * rng.nextFloat();
        }
        return t;
    }

    /** Normal samples with the given mean and standard deviation on the CPU. */
    public static Tensor normal(RandomGenerator rng, float mean, float std, int... dims) {
        Objects.requireNonNull(rng, "rng");
        if (!(std >= 0) || !Float.isFinite(std)) {
            throw new IllegalArgumentException("normal: standard deviation " + std + " must be finite and >= 0");
        }
        Tensor t = zeros(dims);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (mean + std * rng.nextGaussian());
        }
        return t;
    }

    /** Zeros of this tensor's shape on its device. */
    public Tensor zerosLike() {
        return zeros(shape, device());
    }

    public Shape shape() {
        return shape;
    }

    public int rank() {
        return shape.rank();
    }

    /** Dimension {@code axis}; negative counts from the end. */
    public int dim(int axis) {
        return shape.dim(axis);
    }

    /** Number of elements. */
    public int size() {
        return shape.size();
    }

    public Device device() {
        return storage.device();
    }

    public Storage storage() {
        return storage;
    }

    /** Index of element 0 of this tensor in its storage (and in {@link #data()}). */
    public int offset() {
        return offset;
    }

    /**
     * The CPU array behind this tensor; element {@code i} (row-major) is {@code data()[offset() + i]}.
     * Kernels use it; it is shared, not copied.
     *
     * @throws IllegalStateException if the tensor is not on the CPU
     */
    public float[] data() {
        if (storage instanceof Devices.CpuStorage cpu) {
            return cpu.array();
        }
        throw new IllegalStateException("tensor " + shape + " is on " + device().name()
                + "; move it with to(Devices.cpu()) before reading it on the host");
    }

    /** A view with new dimensions (one may be -1) sharing this tensor's storage. */
    public Tensor reshape(int... dims) {
        return new Tensor(shape.reshape(dims), storage, offset);
    }

    /** A view with the given shape, which must have as many elements. */
    public Tensor reshape(Shape newShape) {
        return reshape(newShape.dims());
    }

    /**
     * A view of rows {@code [from, to)} along the first axis, sharing storage (contiguous, so no copy).
     */
    public Tensor slice(int from, int to) {
        if (rank() == 0 || from < 0 || to > dim(0) || from > to) {
            throw new IllegalArgumentException("slice: [" + from + ", " + to + ") is out of range for " + shape);
        }
        int row = shape.stride(0);
        return new Tensor(shape.withDim(0, to - from), storage, offset + from * row);
    }

    /** The elements, row-major, as a new host array. */
    public float[] toArray() {
        float[] out = new float[size()];
        storage.copyToHost(offset, out, 0, out.length);
        return out;
    }

    /** The element at the given indices (one per dimension). */
    public float get(int... index) {
        return data()[offset + flatIndex(index)];
    }

    /** Sets the element at the given indices. */
    public void set(float value, int... index) {
        data()[offset + flatIndex(index)] = value;
    }

    /** The single element of a tensor with one element. */
    public float item() {
        if (size() != 1) {
            throw new IllegalStateException("item: tensor " + shape + " has " + size() + " elements, not 1");
        }
        return toArray()[0];
    }

    /** Sets every element to {@code value}. */
    public Tensor fill(float value) {
        if (device().isCpu()) {
            Arrays.fill(data(), offset, offset + size(), value);
        } else {
            float[] v = new float[size()];
            Arrays.fill(v, value);
            storage.copyFromHost(v, 0, offset, v.length);
        }
        return this;
    }

    /** Copies {@code src}'s elements into this tensor; the element counts must match. */
    public Tensor copyFrom(Tensor src) {
        if (src.size() != size()) {
            throw new IllegalArgumentException("copyFrom: source " + src.shape + " has " + src.size()
                    + " elements, destination " + shape + " has " + size());
        }
        if (src.device().isCpu()) {
            storage.copyFromHost(src.data(), src.offset, offset, size());
        } else {
            storage.copyFromHost(src.toArray(), 0, offset, size());
        }
        return this;
    }

    /** A copy with its own storage, on the same device. */
    public Tensor copy() {
        return zeros(shape, device()).copyFrom(this);
    }

    /** This tensor on {@code target}: itself when already there, otherwise a copy. */
    public Tensor to(Device target) {
        Objects.requireNonNull(target, "target");
        if (target == device()) {
            return this;
        }
        return zeros(shape, target).copyFrom(this);
    }

    private int flatIndex(int[] index) {
        if (index.length != rank()) {
            throw new IllegalArgumentException("index " + Arrays.toString(index) + " has " + index.length
                    + " indices, tensor " + shape + " has rank " + rank());
        }
        int flat = 0;
        for (int i = 0; i < index.length; i++) {
            int d = shape.dim(i);
            if (index[i] < 0 || index[i] >= d) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " is out of bounds for "
                        + shape);
            }
            flat = flat * d + index[i];
        }
        return flat;
    }

    /** {@code Tensor[2, 3] cpu [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}, at most 8 values. */
    @Override
    public String toString() {
        float[] v = new float[Math.min(8, size())];
        storage.copyToHost(offset, v, 0, v.length);
        String vals = Arrays.toString(v);
        if (size() > 8) {
            vals = vals.substring(0, vals.length() - 1) + ", ...]";
        }
        return "Tensor" + shape + " " + device().name() + " " + vals;
    }
}
