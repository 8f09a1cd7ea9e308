"""Repeated wall-clock timing with the spread and the load it ran under."""

import time

import numpy as np

from dstyle_tf.benchmark import machine


def summarize(samples_s, warmup=0):
    """Median, min, max and quartiles (milliseconds) of timing samples (seconds)."""
    ms = np.asarray(samples_s, np.float64) * 1000.0
    q1, median, q3 = np.percentile(ms, [25, 50, 75])
    return {
        "median_ms": float(median),
        "min_ms": float(ms.min()),
        "max_ms": float(ms.max()),
        "q1_ms": float(q1),
        "q3_ms": float(q3),
        "repeats": int(ms.size),
        "warmup": int(warmup),
        "samples_ms": [round(float(v), 3) for v in ms],
    }


def measure(fn, repeats, warmup=1):
    """Calls `fn()` `warmup` times untimed, then times `repeats` calls.

    `fn` must block until its work is done (return numpy, call `.numpy()`).

    Returns:
        `summarize` of the timed calls plus `load_average` before and after.
    """
    for _ in range(warmup):
        fn()
    load_before = machine.load_average()
    samples = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return {
        **summarize(samples, warmup),
        "load_average_before": load_before,
        "load_average_after": machine.load_average(),
    }


def measure_interleaved(functions, repeats, warmup=1):
    """Times several functions round-robin: one call of each per repeat.

    On a shared machine the load changes over minutes; interleaving spreads
    it over every function alike, so their ratios stay fair.

    Args:
        functions: {name: fn}; each fn blocks until its work is done.

    Returns:
        {name: `summarize` of its calls, plus the run's load averages}.
    """
    for fn in functions.values():
        for _ in range(warmup):
            fn()
    load_before = machine.load_average()
    samples = {name: [] for name in functions}
    for _ in range(max(1, repeats)):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    load_after = machine.load_average()
    return {
        name: {
            **summarize(values, warmup),
            "interleaved": True,
            "load_average_before": load_before,
            "load_average_after": load_after,
        }
        for name, values in samples.items()
    }


def throughput(milliseconds, items):
    """Items per second for `items` done in `milliseconds`."""
    return items * 1000.0 / milliseconds if milliseconds > 0 else float("nan")
