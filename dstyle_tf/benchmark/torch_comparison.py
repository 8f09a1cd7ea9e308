"""The `torch` section: the project's train steps against PyTorch eager.

The Johnson, depth-aware and edge-aware TF train steps are built exactly as
the training section builds them (`training.benchmark_config`, `_build`,
`compiled_step`: float32, each XLA mode asked for), the PyTorch eager
Johnson step (`torch_reference.JohnsonStep`) on the same fixed batch, and
all of them are timed round-robin in one process
(`timing.measure_interleaved`), so load drift on a shared machine hits them
alike. Each TF step's time is reported against the PyTorch step's: the
issue's target is the Johnson step at ≤ 1.0× (256², batch 4); the depth- and
edge-aware steps are reported against the same PyTorch Johnson step. Before
timing, `torch_reference.check_parity` makes sure the PyTorch networks have
the Keras networks' trainable weights and convolution FLOPs.

Interleaving evens out load drift, not load itself: under CPU sharing
PyTorch's OpenMP threads (which wait for each other at every op) slow down
far more than TF's work-stealing pool (measured here while another 2-thread
benchmark ran: a 32², batch-2 PyTorch step on 2 threads 37 ms idle vs
1.1–2.9 s shared, 55–60 ms on 1 thread; TF's 80 ms). So the CPU time that
other processes took during the timing is measured (`other_cpu_share`, from
/proc/stat) and, above `BUSY_MACHINE_SHARE`, the target gets no verdict.
"""

import os
import time

import tensorflow as tf

from dstyle_tf import data as data_lib
from dstyle_tf.benchmark import machine
from dstyle_tf.benchmark import timing
from dstyle_tf.benchmark import torch_reference
from dstyle_tf.benchmark import training

POLICY = "float32"
REFERENCE = "pytorch_eager"
# Other processes' share of the CPUs during the timing above which the
# ratios say more about the load than about the frameworks.
BUSY_MACHINE_SHARE = 0.1


def run(image_size, batch_size, repeats, warmup, threads, xla_modes=(False, True),
        configs=("johnson", "depth", "edge"), depth_architecture="small",
        memory_format=torch_reference.DEFAULT_MEMORY_FORMAT, log=print):
    """Times the TF train steps of `configs` and the PyTorch Johnson step.

    Args:
        threads: PyTorch's intra-op threads (`torch.set_num_threads`); TF's
            pools are set by the caller (`machine.configure_threads`).

    Returns:
        dict with `results` (one row per step: the PyTorch one first, then
        each TF config and XLA mode with `ratio_vs_torch`), `parity`,
        `conditions` (versions, threads, instruction sets) and `ratios`
        ({config[_xla]: TF time / PyTorch time}).
    """
    torch = torch_reference.require_torch()
    torch.set_num_threads(threads)
    images = data_lib.synthetic_images(batch_size, image_size, seed=7)
    tf_images = tf.constant(images)
    johnson_config = training.benchmark_config("johnson", image_size, batch_size)

    log(f"torch: building the PyTorch eager Johnson step ({memory_format})")
    reference = torch_reference.JohnsonStep(johnson_config, images, memory_format)
    keras_johnson = training._build(johnson_config, POLICY, depth_architecture)
    log("torch: checking the PyTorch twin against the Keras networks")
    parity = torch_reference.check_parity(
        reference, keras_johnson.transform_net, keras_johnson.vgg, image_size)
    start = time.perf_counter()
    reference()
    first_call_s = time.perf_counter() - start

    steps = {}
    for name in configs:
        config = training.benchmark_config(name, image_size, batch_size)
        for xla in xla_modes:
            log(f"torch: building and tracing the TF {name} step (xla={xla})")
            trainer = training._build(config, POLICY, depth_architecture)
            steps[(name, xla)] = training.compiled_step(trainer, config, POLICY, xla, tf_images)
    log(f"torch: timing the PyTorch step and {len(steps)} TF steps, interleaved")
    cpu_before = _cpu_seconds()
    stats = timing.measure_interleaved(
        {REFERENCE: reference, **{key: fn for key, (fn, _) in steps.items()}},
        repeats, max(0, warmup - 1),
    )
    other_share = other_cpu_share(cpu_before, _cpu_seconds())
    torch_ms = stats[REFERENCE]["median_ms"]
    results = [_row("johnson", REFERENCE, None, image_size, batch_size, stats[REFERENCE],
                    first_call_s, torch_ms)]
    results += [
        _row(name, "tensorflow", xla, image_size, batch_size, stats[(name, xla)], compile_s,
             torch_ms)
        for (name, xla), (_, compile_s) in steps.items()
    ]
    return {
        "results": results,
        "ratios": {f"{r['config']}{'_xla' if r['xla'] else ''}": r["ratio_vs_torch"]
                   for r in results if r["framework"] == "tensorflow"},
        "parity": parity,
        "other_cpu_share": other_share,
        "busy_machine": other_share is not None and other_share > BUSY_MACHINE_SHARE,
        "conditions": {
            **torch_reference.describe(),
            "tensorflow": tf.__version__,
            "tf_threads": threads,
            "memory_format": memory_format,
            "cpu_isa": machine.cpu_isa(),
            "policy": POLICY,
        },
        "reference": (
            "pytorch/examples fast_neural_style's train step (eager), with the Johnson "
            "config's network, VGG-16 taps, loss (content, style Grams, TV), weights and "
            "Adam; loss networks random and frozen (cost does not depend on weights)"
        ),
    }


def _cpu_seconds():
    """(wall s, CPU-busy s of the whole machine or None, this process's CPU s)."""
    busy = None
    try:
        with open("/proc/stat", encoding="utf-8") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal: all but idle and iowait
        busy = (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    own = os.times()
    return time.perf_counter(), busy, own.user + own.system


def other_cpu_share(before, after):
    """Share of the machine's CPUs that other processes kept busy between two
    `_cpu_seconds()` readings (0–1), or None where /proc/stat is unreadable."""
    if before[1] is None or after[1] is None:
        return None
    wall = after[0] - before[0]
    others = (after[1] - before[1]) - (after[2] - before[2])
    return min(1.0, max(0.0, others / (wall * os.cpu_count()))) if wall > 0 else None


def _row(config, framework, xla, image_size, batch_size, stats, first_call_s, torch_ms):
    return {
        "config": config,
        "framework": framework,
        "xla": xla,
        "image_size": image_size,
        "batch": batch_size,
        "images_per_s": timing.throughput(stats["median_ms"], batch_size),
        "ratio_vs_torch": stats["median_ms"] / torch_ms,
        "first_call_s": first_call_s,
        **stats,
    }
