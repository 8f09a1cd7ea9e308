r"""Benchmark the network, training, input pipeline and memory on this machine.

    python -m dstyle_tf.benchmark --output=bench.json
    python -m dstyle_tf.benchmark --quick --output=/tmp/bench.json
    python -m dstyle_tf.benchmark --only=inference --sizes=512 --repeats=11
    python -m dstyle_tf.benchmark --only=inference --model=default --styles=4 \
        --sizes=512 --backends=tflite_float32 --repeats=15   # one net for 4 styles vs one
    python -m dstyle_tf.benchmark --only=models --sizes=512,1024 --threads=2 \
        --compare_models=default,lite,f16b3dw,f16b3,f8b3dw --output=lite.json
    python -m dstyle_tf.benchmark --only=video --model=runs/demo/transform_net.keras
    python -m dstyle_tf.benchmark --only=layers --model=default --sizes=512 --threads=2
    python -m dstyle_tf.benchmark --emulate_cpu=avx2 --only=models --sizes=512,1024

The train steps against PyTorch eager are not part of the package: from the
repository root, `python -m benchmarks.torch_comparison` (needs torch).

Prints the conditions (CPU, threads, versions, load average), one table per
section and the performance issue's targets with PASS/FAIL, and writes all of
it, raw samples included, as JSON. See `dstyle_tf.benchmark.suite.run`.
"""

import os
import shlex
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from dstyle_tf.benchmark import suite  # noqa: E402

_INFERENCE_BACKENDS = ("keras", "keras_xla", "saved_model", "tflite_float32",
                       "tflite_float16", "tflite_dynamic_int8", "tflite_int8",
                       "tflite_int8_outer_float")

flags.DEFINE_list("sizes", ["256", "512", "1024"],
                  "Square image sides for inference latency and FLOPs.")
flags.DEFINE_integer("repeats", 7, "Timed repetitions of every measurement (median and "
                     "min/max/IQR reported).", lower_bound=1)
flags.DEFINE_integer("warmup", 2, "Untimed calls before each measurement (tracing, XLA "
                     "compilation, interpreter set-up).", lower_bound=0)
flags.DEFINE_integer("threads", 0, "Threads for TensorFlow's intra/inter-op pools, the "
                     "matmul peak and the TFLite interpreter; 0 = every usable CPU.",
                     lower_bound=0)
flags.DEFINE_list("only", list(suite.DEFAULT_SECTIONS),
                  f"Sections to run, from {', '.join(suite.SECTIONS)} (the matmul peak "
                  "always runs; 'models' and 'layers' only when named; 'layers' "
                  "times each stage of --model as its own TFLite model).")
flags.DEFINE_string("output", "bench.json", "Where to write the JSON report.")
flags.DEFINE_bool("quick", False, "Tiny sizes, 2 repeats, tiny depth network, no training "
                  "XLA, small memory images: for tests and a fast look. Explicit size and "
                  "repeat flags still override it.")
flags.DEFINE_string("model", "paper",
                    "Network to benchmark: 'paper' (configs/paper.py architecture: batch "
                    "norm, transposed convs; random weights), 'default' (TransformNet "
                    "defaults: instance norm, resize-conv; random weights) or a .keras file. "
                    "Latency does not depend on weights; int8 PSNR does.")
flags.DEFINE_integer("styles", 0, "With N > 1, also time the same network holding N styles "
                     "(conditional instance norm; needs an instance-norm --model such as "
                     "'default') on every inference backend, interleaved with it, and report "
                     "the time ratio (target at 512² TFLite float32: ≤ 1.05×).", lower_bound=0)
flags.DEFINE_list("backends", [], f"Inference backends, from {', '.join(_INFERENCE_BACKENDS)}; "
                  "empty for all but tflite_int8_outer_float (int8 with the outer blocks in "
                  "float; for --only=models: tflite_float32, tflite_int8).")
flags.DEFINE_list("compare_models", list(suite.COMPARE_MODELS),
                  "Networks of the 'models' section (random weights): paper, default (full "
                  "size), lite (configs/lite.py) or f<filters>b<blocks>[dw] (dw = "
                  "depthwise-separable residual blocks), or .keras files.")
flags.DEFINE_integer("calibration_count", 8, "Images for int8 calibration and the PSNR "
                     "checks, per size.", lower_bound=1)
flags.DEFINE_string("calibration_images", "", "Folder of photos for int8 calibration and "
                    "PSNR (default: synthetic images).")
flags.DEFINE_string("test_images", "", "Folder of other photos (e.g. held out from "
                    "calibration) to measure the TFLite variants' PSNR on (default: the "
                    "calibration images).")
flags.DEFINE_string("image_folder", "", "JPEG folder for the input pipeline section "
                    "(default: generated 640x480 JPEGs in a temporary directory).")
flags.DEFINE_integer("pipeline_images", 64, "How many JPEGs to generate when "
                     "--image_folder is not given.", lower_bound=1)
flags.DEFINE_integer("train_size", 256, "Training image side (training and pipeline).",
                     lower_bound=16)
flags.DEFINE_integer("train_batch", 4, "Training batch size.", lower_bound=1)
flags.DEFINE_list("train_xla", ["false", "true"], "XLA modes for the train step.")
flags.DEFINE_integer("train_repeats", 0, "Timed train steps (0: --repeats).", lower_bound=0)
flags.DEFINE_enum("depth_architecture", "small", ["small", "tiny"],
                  "Depth network of the depth-aware config: 'small' = Depth Anything V2 "
                  "small's architecture (the default backend's cost), 'tiny' = test net.")
flags.DEFINE_bool("cross_check", True, "Also count each train step's FLOPs from XLA's "
                  "optimised HLO (slow for the depth network).")
flags.DEFINE_list("memory_sizes", ["1024", "4096"], "Image sides for the peak-memory runs.")
flags.DEFINE_integer("memory_baseline", 64, "Side of a small untiled image run first for the "
                     "baseline RSS; 0 to skip.", lower_bound=0)
flags.DEFINE_integer("tile_size", 1024, "stylize --tile_size for the memory runs.",
                     lower_bound=0)
flags.DEFINE_integer("tile_overlap", 128, "stylize --tile_overlap for the memory runs.",
                     lower_bound=0)
flags.DEFINE_list("video_backends", ["tflite_float32", "tflite_int8"],
                  "Backends of the video section: keras, saved_model, tflite_<variant> "
                  "(exported at the frame size) or tflite_<variant>_dynamic.")
flags.DEFINE_list("video_size", ["640", "360"], "WIDTH,HEIGHT of the video section's clip.")
flags.DEFINE_integer("video_frames", 48, "Frames of the video section's clip.", lower_bound=2)
flags.DEFINE_integer("video_repeats", 3, "Timed passes over the clip per video backend.",
                     lower_bound=1)
flags.DEFINE_enum("emulate_cpu", None, ["avx2"], "Measure as on a CPU with fewer "
                  "instruction sets: 'avx2' hides AVX-512, AVX-VNNI and AMX from CPUID "
                  "(Linux, CPUs with cpuid_fault), so XNNPACK, oneDNN and numpy run their "
                  "AVX2 kernels; the cores stay this CPU's. See dstyle_tf.benchmark.isa.")
flags.DEFINE_integer("peak_size", 2048, "Side n of the n×n×n float32 matmul peak.",
                     lower_bound=64)

FLAGS = flags.FLAGS


def _ints(name):
    try:
        return tuple(int(v) for v in FLAGS[name].value)
    except ValueError:
        raise app.UsageError(f"--{name} must be a comma-separated list of integers.") from None


def options_from_flags():
    """`suite.Options` from the flags (quick defaults under flags left unset)."""
    unknown = set(FLAGS.only) - set(suite.SECTIONS)
    if unknown:
        raise app.UsageError(f"Unknown --only {', '.join(sorted(unknown))}; "
                             f"choose from {', '.join(suite.SECTIONS)}.")
    unknown = set(FLAGS.backends) - set(_INFERENCE_BACKENDS)
    if unknown:
        raise app.UsageError(f"Unknown --backends {', '.join(sorted(unknown))}.")
    from dstyle_tf.benchmark import models

    for spec in FLAGS.compare_models:
        if models.architecture(spec) is None and not os.path.isfile(spec):
            raise app.UsageError(f"--compare_models {spec}: not a known network, size "
                                 "(f16b3dw) or file.")
    from dstyle_tf.benchmark import video

    unknown = set(FLAGS.video_backends) - set(video.backends())
    if unknown or not FLAGS.video_backends:
        raise app.UsageError(f"Unknown --video_backends {', '.join(sorted(unknown))}; choose "
                             f"from {', '.join(video.backends())}.")
    if len(FLAGS.video_size) != 2 or min(_ints("video_size")) < 16:
        raise app.UsageError("--video_size must be WIDTH,HEIGHT, both at least 16.")
    modes = {"false": False, "true": True}
    if not FLAGS.train_xla or set(FLAGS.train_xla) - set(modes):
        raise app.UsageError("--train_xla takes false and/or true.")
    explicit = {
        "sizes": ("sizes", _ints),
        "repeats": ("repeats", None),
        "warmup": ("warmup", None),
        "calibration_count": ("calibration_count", None),
        "train_size": ("train_size", None),
        "train_batch": ("train_batch", None),
        "train_xla": ("train_xla", lambda n: tuple(modes[v] for v in FLAGS[n].value)),
        "depth_architecture": ("depth_architecture", None),
        "cross_check": ("cross_check", None),
        "pipeline_images": ("pipeline_images", None),
        "memory_sizes": ("memory_sizes", _ints),
        "memory_baseline": ("memory_baseline", None),
        "tile_size": ("tile_size", None),
        "tile_overlap": ("tile_overlap", None),
        "peak_size": ("peak_size", None),
        "video_size": ("video_size", _ints),
        "video_frames": ("video_frames", None),
        "video_repeats": ("video_repeats", None),
    }
    values = {
        "threads": FLAGS.threads,
        "sections": tuple(FLAGS.only),
        "model": FLAGS.model,
        "backends": tuple(FLAGS.backends),
        "compare_models": tuple(FLAGS.compare_models),
        "image_folder": FLAGS.image_folder,
        "calibration_folder": FLAGS.calibration_images,
        "test_folder": FLAGS.test_images,
        "train_repeats": FLAGS.train_repeats,
        "styles": FLAGS.styles,
        "video_backends": tuple(FLAGS.video_backends),
    }
    for field, (name, convert) in explicit.items():
        if FLAGS.quick and not FLAGS[name].present:
            continue  # keep the quick default
        values[field] = convert(name) if convert else FLAGS[name].value
    if FLAGS.quick:
        return suite.Options.quick_options(**values)
    return suite.Options(**values)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    from dstyle_tf import cli
    from dstyle_tf.benchmark import isa
    from dstyle_tf.benchmark import report as report_lib

    if FLAGS.emulate_cpu and isa.active_mask() != FLAGS.emulate_cpu:
        # The mask must be loaded before any library reads CPUID (before
        # TensorFlow is imported): start again under it.
        try:
            env = isa.environment(FLAGS.emulate_cpu)
        except isa.EmulationError as e:
            raise app.UsageError(str(e)) from None
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable, "-m", "dstyle_tf.benchmark", *sys.argv[1:]],
                  env)
    options = options_from_flags()
    command = "python -m dstyle_tf.benchmark " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    # Errors a user can fix: one line.
    result = cli.call(suite.run, options, command=command.strip())
    print(report_lib.format_report(result))
    report_lib.write_json(result, FLAGS.output)
    print(f"\nWrote {FLAGS.output}")


def run():
    app.run(main)


if __name__ == "__main__":
    run()
