"""The machine's float32 matrix-multiply peak, measured in the same process.

Efficiency figures elsewhere are achieved GFLOP/s divided by this number: a
large square float32 `tf.linalg.matmul` under `tf.function`, with the same
TensorFlow thread pools as the rest of the run. It is a practical peak (what
TensorFlow's best kernel reaches here), not the CPU's theoretical one.

On a shared machine the peak moves with the load, so each section times the
matmul interleaved with its own measurements (`matmul_callable`) and divides
by that; `matmul_peak` is the stand-alone measurement for the conditions.
"""

import tensorflow as tf

from dstyle_tf.benchmark import timing


def matmul_callable(size=2048, calls=3):
    """(fn, flops): fn runs `calls` n×n×n float32 matmuls and blocks."""
    a = tf.random.stateless_uniform((size, size), seed=(1, 2), dtype=tf.float32)
    b = tf.random.stateless_uniform((size, size), seed=(3, 4), dtype=tf.float32)

    @tf.function
    def product(a, b):
        # Reduce to a scalar so that fetching the result costs nothing.
        return tf.reduce_sum(tf.linalg.matmul(a, b))

    def run():
        for _ in range(calls):
            product(a, b).numpy()

    return run, calls * 2 * size**3


def summarize(stats, flops, size):
    """The peak dict (GFLOP/s from the median and from the fastest call)."""
    return {
        "gflops": flops / stats["median_ms"] / 1e6,
        "gflops_best": flops / stats["min_ms"] / 1e6,
        "size": size,
        "dtype": "float32",
        "op": "tf.linalg.matmul under tf.function",
        "timing": stats,
    }


def matmul_peak(size=2048, repeats=5, warmup=1):
    """GFLOP/s of n×n×n float32 matmuls (2·n³ FLOPs each), timed alone.

    Returns:
        dict with `gflops` (from the median time), `gflops_best` (from the
        fastest call), `size` and the timing summary.
    """
    fn, flops = matmul_callable(size, calls=1)
    return summarize(timing.measure(fn, repeats, warmup), flops, size)
