"""Benchmark (peers): one thread per backend (import before NumPy, JAX or torch load)."""

import os

THREADS = 1


def configure_threads(n: int = 1):
    """Pin every backend to ``n`` threads.  Must run before jax/torch are imported."""
    global THREADS
    THREADS = n
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS"):
        os.environ[var] = str(n)
    if n == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false"
                                   " intra_op_parallelism_threads=1").strip()
