"""The machine's float32 matrix-multiply peak, measured in the same process.

Efficiency figures elsewhere are achieved GFLOP/s divided by this number: a
large square float32 `tf.linalg.matmul` under `tf.function`, with the same
TensorFlow thread pools as the rest of the run. It is a practical peak (what
TensorFlow's best kernel reaches here), not the CPU's theoretical one.
"""

import tensorflow as tf

from dstyle_tf.benchmark import timing


def matmul_peak(size=2048, repeats=5, warmup=1):
    """GFLOP/s of an n×n×n float32 matmul (2·n³ FLOPs a call).

    Returns:
        dict with `gflops` (from the median time), `gflops_best` (from the
        fastest call), `size` and the timing summary.
    """
    a = tf.random.stateless_uniform((size, size), seed=(1, 2), dtype=tf.float32)
    b = tf.random.stateless_uniform((size, size), seed=(3, 4), dtype=tf.float32)

    @tf.function
    def product(a, b):
        # Reduce to a scalar so that fetching the result costs nothing.
        return tf.reduce_sum(tf.linalg.matmul(a, b))

    stats = timing.measure(lambda: product(a, b).numpy(), repeats, warmup)
    flops = 2 * size**3
    return {
        "gflops": flops / stats["median_ms"] / 1e6,
        "gflops_best": flops / stats["min_ms"] / 1e6,
        "size": size,
        "dtype": "float32",
        "op": "tf.linalg.matmul under tf.function",
        "timing": stats,
    }
