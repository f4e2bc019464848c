"""How the CLI, the app and batch workers set up OpenMP, before torch loads (light: no torch)."""

from __future__ import annotations

import os

# OpenMP threads that spin while they wait make torch several times slower whenever other threads
# want the cores: x264's in a video render (640x480 on 2 cores: 0.32x of decode+encode alone,
# against 0.40x with waiting threads that sleep), other programs while the app previews a colour
# hint (a 224-pixel pass on a busy 2-core machine: 2.5 s, against 0.15 s). On an idle machine
# sleeping costs little.
OPENMP_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


def let_waiting_threads_sleep() -> None:
    """Set :data:`OPENMP_ENV` unless the user set it; only has an effect before torch loads."""
    for key, value in OPENMP_ENV.items():
        os.environ.setdefault(key, value)


# How a CPU without AVX-512 runs, imitated on one with it: oneDNN capped at AVX2 (which also turns
# bf16 autocast off: vidcolor.engine) and ATen's own kernels likewise. The benchmarks' --isa and
# the test suite's second pass (Makefile) use it.
ISA_ENVS = {"native": {}, "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}}


def cpu_name() -> str:
    """The CPU's model name, for benchmark reports (timings mean little without it)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"
