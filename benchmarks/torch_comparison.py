r"""The project's train steps against PyTorch eager (run from the repository root).

    python -m benchmarks.torch_comparison --threads=2 --output=torch.json  # needs torch
    python -m benchmarks.torch_comparison --quick --output=/tmp/torch.json


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
import shlex
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from benchmarks import torch_reference  # noqa: E402
from dstyle_tf import data as data_lib  # noqa: E402
from dstyle_tf.benchmark import machine  # noqa: E402
from dstyle_tf.benchmark import report as report_lib  # noqa: E402
from dstyle_tf.benchmark import timing  # noqa: E402
from dstyle_tf.benchmark import training  # noqa: E402
from dstyle_tf.tables import format_table  # noqa: E402

POLICY = "float32"
REFERENCE = "pytorch_eager"
# Other processes' share of the CPUs during the timing above which the
# ratios say more about the load than about the frameworks.
BUSY_MACHINE_SHARE = 0.1
TORCH_STEP_RATIO = 1.0  # Johnson TF step time / PyTorch eager step time, 256², batch 4


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


# --- Target and report --------------------------------------------------------

def torch_targets(comparison):
    """The Johnson TF step (its fastest XLA mode) against the PyTorch eager step."""
    rows = [r for r in comparison["results"]
            if r["framework"] == "tensorflow" and r["config"] == "johnson"]
    if not rows:
        return []
    best = min(rows, key=lambda r: r["median_ms"])
    at_target = (best["image_size"], best["batch"]) == report_lib.TRAIN_INPUT
    torch_ms = best["median_ms"] / best["ratio_vs_torch"]
    mode = report_lib.xla_mode(best)
    notes = [f"fastest mode ({mode}), timed interleaved" if at_target else
             f"measured at {best['image_size']}², batch {best['batch']}: no verdict"]
    if comparison.get("busy_machine"):
        notes.append(_busy_note(comparison) + ": no verdict")
    passed = best["ratio_vs_torch"] <= TORCH_STEP_RATIO
    return [report_lib.target(
        "torch", "Johnson train step ≤ PyTorch eager step (256², batch 4)",
        f"≤ {TORCH_STEP_RATIO:.1f}×",
        f"{best['ratio_vs_torch']:.2f}× ({best['median_ms']:.0f} ms {mode} vs "
        f"{torch_ms:.0f} ms PyTorch)",
        passed if at_target and not comparison.get("busy_machine") else None,
        "; ".join(notes),
    )]


def _busy_note(comparison):
    return (f"other processes kept {100 * comparison['other_cpu_share']:.0f}% of the CPUs busy "
            "during the timing (PyTorch's OpenMP threads slow down far more than TF's when "
            "the CPU is shared)")


def torch_conditions(conditions):
    """The PyTorch reference's versions, threads and the CPU's instruction sets."""
    return (f"PyTorch reference: torch {conditions['torch']} (CPU kernels "
            f"{conditions['cpu_capability']}, oneDNN {'yes' if conditions['mkldnn'] else 'no'}, "
            f"{conditions['threads']} threads, {conditions['memory_format']}) vs TensorFlow "
            f"{conditions['tensorflow']} ({conditions['tf_threads']} threads); CPU instruction "
            f"sets: {machine.isa_summary(conditions['cpu_isa']) or 'unknown'}")


def torch_table(comparison):
    """One row per step; the TF steps' time against the PyTorch eager step's."""
    rows = []
    for r in comparison["results"]:
        mode = "eager" if r["xla"] is None else ("yes" if r["xla"] else "no")
        rows.append((r["config"], r["framework"], mode, f"{r['image_size']}²×{r['batch']}",
                     f"{r['median_ms']:.0f}", report_lib.spread(r), f"{r['images_per_s']:.1f}",
                     f"{r['ratio_vs_torch']:.2f}×", f"{r['first_call_s']:.1f}"))
    table = format_table(("config", "framework", "XLA", "input", "median ms", "min–max ms",
                          "images/s", "vs PyTorch", "first call s"), rows)
    parity = comparison["parity"]
    share = comparison.get("other_cpu_share")
    load = ("  load: " + _busy_note(comparison) + ": rerun on an idle machine"
            if comparison.get("busy_machine") else
            "  load: other processes' CPU share during the timing "
            + ("unknown" if share is None else f"{100 * share:.0f}%"))
    return "\n".join([
        table,
        load,
        f"  reference: {comparison['reference']}",
        f"  parity checked: TransformNet {parity['transform_net']['trainable']:,} trainable "
        f"parameters, {parity['transform_net']['flops'] / 1e9:.2f} GFLOP forward per image; "
        f"VGG-16 {parity['vgg']['flops'] / 1e9:.2f} GFLOP per image (both frameworks)",
        f"  {torch_conditions(comparison['conditions'])}",
    ])


def format_report(report):
    """The command's printed report: machine, the comparison table, the target."""
    m = report["conditions"]["machine"]
    return "\n\n".join([
        f"Machine: {m['cpu_model']} ({report_lib.cpu_features(m)}), {m['usable_cpus']} usable "
        f"CPUs, {report['conditions']['threads']} threads",
        f"== torch ==\n{torch_table(report['torch'])}",
        f"== targets ==\n{report_lib.targets_table(report['targets'])}",
    ])


# --- Command --------------------------------------------------------------------
# Its own flag set: `python -m dstyle_tf.benchmark` defines flags of the same
# names, and both can be imported in one process (the tests).
FLAGS = flags.FlagValues()

flags.DEFINE_integer("threads", 0, "Threads for TensorFlow's pools and PyTorch's intra-op "
                     "pool; 0 = every usable CPU.", lower_bound=0, flag_values=FLAGS)
flags.DEFINE_integer("train_size", 256, "Training image side.", lower_bound=16, flag_values=FLAGS)
flags.DEFINE_integer("train_batch", 4, "Training batch size.", lower_bound=1, flag_values=FLAGS)
flags.DEFINE_list("train_xla", ["false", "true"], "XLA modes for the TF train steps.", flag_values=FLAGS)
flags.DEFINE_integer("repeats", 7, "Timed repetitions of every step.", lower_bound=1, flag_values=FLAGS)
flags.DEFINE_integer("warmup", 2, "Untimed calls before the timing.", lower_bound=0, flag_values=FLAGS)
flags.DEFINE_enum("depth_architecture", "small", ["small", "tiny"],
                  "Depth network of the depth-aware step: 'small' = Depth Anything V2 small's "
                  "architecture, 'tiny' = test net.", flag_values=FLAGS)
flags.DEFINE_enum("torch_memory_format", torch_reference.DEFAULT_MEMORY_FORMAT,
                  list(torch_reference.MEMORY_FORMATS),
                  "Memory layout of the PyTorch reference's tensors: channels_last (NHWC, the "
                  "faster here) or contiguous (NCHW).", flag_values=FLAGS)
flags.DEFINE_bool("quick", False, "Tiny sizes (32², batch 2), 2 repeats, no XLA, tiny depth "
                  "network: for tests and a fast look.", flag_values=FLAGS)
flags.DEFINE_string("output", "torch.json", "Where to write the JSON report.", flag_values=FLAGS)


def _log(message):
    print(f"[torch comparison {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr,
          flush=True)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    from dstyle_tf import cli

    modes = {"false": False, "true": True}
    if not FLAGS.train_xla or set(FLAGS.train_xla) - set(modes):
        raise app.UsageError("--train_xla takes false and/or true.")
    quick = dict(train_size=32, train_batch=2, repeats=2, warmup=1, train_xla=["false"],
                 depth_architecture="tiny") if FLAGS.quick else {}
    value = {name: FLAGS[name].value if FLAGS[name].present or name not in quick else quick[name]
             for name in ("train_size", "train_batch", "repeats", "warmup", "train_xla",
                          "depth_architecture")}
    cli.call(torch_reference.require_torch)  # one line, before anything runs
    threads = machine.configure_threads(FLAGS.threads)
    result = run(value["train_size"], value["train_batch"], value["repeats"], value["warmup"],
                 threads, xla_modes=tuple(modes[v] for v in value["train_xla"]),
                 depth_architecture=value["depth_architecture"],
                 memory_format=FLAGS.torch_memory_format, log=_log)
    result["targets"] = torch_targets(result)
    command = ("python -m benchmarks.torch_comparison "
               + " ".join(shlex.quote(a) for a in sys.argv[1:])).strip()
    report = {"conditions": {"command": command, "machine": machine.describe(threads),
                             "threads": threads, "quick": FLAGS.quick},
              "torch": result, "targets": result["targets"]}
    print(format_report(report))
    report_lib.write_json(report, FLAGS.output)
    print(f"\nWrote {FLAGS.output}")


def run(argv=None):
    """Parses `argv` (default `sys.argv`) into `FLAGS` and runs `main`."""
    argv = sys.argv if argv is None else argv
    if {"--help", "-h", "--helpfull"} & set(argv[1:]):
        print(__doc__ + "\nFlags:\n" + FLAGS.get_help())
        return
    try:
        main(FLAGS(argv))
    except (flags.Error, app.UsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    run()
