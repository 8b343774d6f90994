#!/usr/bin/env python3
# PyTorch's anchors for GpuBench on the same GPU (kernels/device-check runs both):
#
#   kernels/device-torch.py [--sizes=4096,8192] [--batches=128,512]
#
# prints, in GpuBench's format:
#   torch sgemm n=<n> fp32 <x> TFLOP/s     torch.matmul (cuBLAS) with TF32 off
#   torch sgemm n=<n> tf32 <x> TFLOP/s     the same with TF32 allowed
#   torch cnn batch=<b> train <x> img/s    torch_cnn.py's net trained on cuda:0 (SGD, momentum 0.9, lr 0.01)
#
# Timing as GpuBench's: warm-up, then 5 rounds of repetitions sized to about 0.3 s (GEMM) or 0.5 s (CNN) each,
# torch.cuda.synchronize() before each round's clock starts and before it is read; the median round. GEMMs write
# into a preallocated C (matmul(a, b, out=c)) of uniform [-1, 1) square matrices, counting 2n^3 flop per call.
# The CNN runs with torch.backends.cudnn.benchmark = True (cuDNN picks its fastest convolution algorithms in the
# warm-up: the setting a user tuning for speed would take, so the fair one for PyTorch) and with FP32 arithmetic
# throughout (cuDNN's TF32 convolutions and cuBLAS's TF32 off), as evonas computes the CNN in FP32. Unlike
# Trainer.step, PyTorch's step does not read the loss back to the host.
#
# Exits 3 after a line "SKIP: <reason>" when torch or a CUDA GPU is missing; device-check reports that as SKIP.
import statistics
import sys
import time

ROUNDS = 5


def skip(reason):
    print(f"SKIP: {reason}", flush=True)
    sys.exit(3)


try:
    import torch
    import torch.nn as nn
except Exception as e:  # ImportError, or a broken install
    skip(f"cannot import torch with {sys.executable} ({sys.version.split()[0]}): {type(e).__name__}: {e}")
if not torch.cuda.is_available():
    skip(f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no CUDA GPU")


def set_tf32(matmul, conv):
    """TF32 on or off for cuBLAS matmuls and cuDNN convolutions, through the API this torch has."""
    if hasattr(torch.backends.cuda.matmul, "fp32_precision"):  # torch >= 2.9; the old flags are deprecated there
        torch.backends.cuda.matmul.fp32_precision = "tf32" if matmul else "ieee"
        torch.backends.cudnn.conv.fp32_precision = "tf32" if conv else "ieee"
    else:
        torch.backends.cuda.matmul.allow_tf32 = matmul
        torch.backends.cudnn.allow_tf32 = conv


def rounds(call, target_s):
    """Median calls per second over ROUNDS rounds of repetitions sized to about target_s each; and the count."""
    torch.cuda.synchronize()
    t = time.perf_counter()
    call()
    torch.cuda.synchronize()
    once = max(1e-6, time.perf_counter() - t)
    reps = max(1, min(1000, round(target_s / once)))
    rates = []
    for _ in range(ROUNDS):
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(reps):
            call()
        torch.cuda.synchronize()
        rates.append(reps / (time.perf_counter() - t))
    return statistics.median(rates), reps


def sgemm(n, tf32):
    set_tf32(matmul=tf32, conv=False)
    g = torch.Generator(device="cuda").manual_seed(n)
    a = torch.rand(n, n, device="cuda", generator=g) * 2 - 1
    b = torch.rand(n, n, device="cuda", generator=g) * 2 - 1
    c = torch.empty(n, n, device="cuda")
    call = lambda: torch.matmul(a, b, out=c)
    for _ in range(3):
        call()
    rate, reps = rounds(call, 0.3)
    kind = "tf32" if tf32 else "fp32"
    print(f"torch sgemm n={n} {kind} {rate * 2.0 * n ** 3 / 1e12:.2f} TFLOP/s", flush=True)
    print(f"  {kind} n={n}: {reps} reps per round", flush=True)


def cnn(batch):
    set_tf32(matmul=False, conv=False)
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10)).cuda()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, 1, 28, 28, device="cuda")
    y = torch.randint(0, 10, (batch,), device="cuda")

    def step():
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(20):
        step()
    rate, reps = rounds(step, 0.5)
    print(f"torch cnn batch={batch} train {rate * batch:.0f} img/s", flush=True)
    print(f"  cnn batch={batch}: {reps} steps per round", flush=True)


def ints(csv):
    return [int(v) for v in csv.split(",")]


def main(args):
    sizes, batches = [4096, 8192], [128, 512]
    for arg in args:
        if arg.startswith("--sizes="):
            sizes = ints(arg[len("--sizes="):])
        elif arg.startswith("--batches="):
            batches = ints(arg[len("--batches="):])
        else:
            print(f"device-torch.py: unknown argument {arg}; use --sizes=4096,8192 --batches=128,512",
                  file=sys.stderr)
            sys.exit(2)
    torch.backends.cudnn.benchmark = True
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
          f"{torch.cuda.get_device_name(0)}", flush=True)
    for n in sizes:
        sgemm(n, tf32=False)
        sgemm(n, tf32=True)
    for b in batches:
        cnn(b)


if __name__ == "__main__":
    main(sys.argv[1:])
