"""Runs the benchmark sections and assembles the report (see `__main__`)."""

import dataclasses
import sys
import time

# "models" (the lite sizes against the full network) and "layers" (per-stage
# TFLite float32 and int8 latency of --model) run only when asked. The train
# steps against PyTorch eager are outside the package:
# `python -m benchmarks.torch_comparison` from the repository root.
DEFAULT_SECTIONS = ("inference", "training", "pipeline", "memory", "video")
SECTIONS = DEFAULT_SECTIONS + ("models", "layers")
# Networks of the "models" section: the full one (instance norm, resize-conv)
# and lite candidates (`models.architecture`).
COMPARE_MODELS = ("default", "lite", "f16b3dw", "f16b3", "f8b3dw")
COMPARE_BACKENDS = ("tflite_float32", "tflite_int8")


@dataclasses.dataclass
class Options:
    """Everything a benchmark run needs; `quick()` gives tiny settings."""

    sizes: tuple = (256, 512, 1024)
    repeats: int = 7
    warmup: int = 2
    threads: int = 0  # 0: every usable CPU
    sections: tuple = DEFAULT_SECTIONS
    model: str = "paper"
    backends: tuple = ()  # () = every inference backend (models: COMPARE_BACKENDS)
    styles: int = 0  # > 1: also time the network's conditional twin with this many styles
    compare_models: tuple = COMPARE_MODELS
    calibration_count: int = 8
    image_folder: str = ""  # JPEG folder for the pipeline (default: generated)
    calibration_folder: str = ""  # photos for int8 calibration and PSNR
    test_folder: str = ""  # other photos for the PSNR (default: the calibration photos)
    train_size: int = 256
    train_batch: int = 4
    train_xla: tuple = (False, True)
    train_repeats: int = 0  # 0: `repeats`
    depth_architecture: str = "small"
    cross_check: bool = True  # XLA HLO count of the whole train step
    pipeline_images: int = 64
    pipeline_jpeg_size: tuple = (640, 480)
    memory_sizes: tuple = (1024, 4096)
    memory_baseline: int = 64
    tile_size: int = 1024
    tile_overlap: int = 128
    peak_size: int = 2048
    video_backends: tuple = ("tflite_float32", "tflite_int8")
    video_size: tuple = (640, 360)  # width, height
    video_frames: int = 48
    video_repeats: int = 3
    quick: bool = False

    @classmethod
    def quick_options(cls, **overrides):
        """Tiny sizes and repeats: for tests and a fast look (numbers mean little)."""
        settings = dict(
            sizes=(32,), repeats=2, warmup=1, calibration_count=2, train_size=32,
            train_batch=2, train_xla=(False,), depth_architecture="tiny", cross_check=False,
            pipeline_images=8, pipeline_jpeg_size=(160, 120), memory_sizes=(96,),
            memory_baseline=0, tile_size=64, tile_overlap=16, peak_size=512,
            video_size=(96, 64), video_frames=4, video_repeats=1, quick=True,
        )
        settings.update(overrides)
        return cls(**settings)


def _log(message):
    print(f"[benchmark {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(options, command=None, log=_log):
    """Runs the selected sections; returns the report dict (see report.py)."""
    from dstyle_tf.benchmark import machine

    threads = machine.configure_threads(options.threads)
    from dstyle_tf.benchmark import inference
    from dstyle_tf.benchmark import memory
    from dstyle_tf.benchmark import models
    from dstyle_tf.benchmark import peak
    from dstyle_tf.benchmark import pipeline
    from dstyle_tf.benchmark import report as report_lib
    from dstyle_tf.benchmark import training
    from dstyle_tf.benchmark import video

    start = time.time()
    net, model_info = models.load_transform_net(options.model)
    conditional = None
    if options.styles > 1 and "inference" in options.sections:
        conditional = models.conditional_twin(net, options.styles)
        model_info["conditional"] = (
            f"the same network holding {options.styles} styles (conditional instance norm), "
            "random weights, timed interleaved with it"
        )
    report = {
        "conditions": {
            "command": command,
            "machine": machine.describe(threads),
            "threads": threads,
            "repeats": options.repeats,
            "warmup": options.warmup,
            "quick": options.quick,
            "model": model_info,
            "load_average_start": machine.load_average(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "options": dataclasses.asdict(options),
        }
    }
    log(f"matmul peak ({options.peak_size}³ float32, {threads} threads)")
    report["peak"] = peak.matmul_peak(options.peak_size, max(3, options.repeats), options.warmup)
    if "inference" in options.sections:
        report["inference"] = inference.run(
            net, options.sizes, options.repeats, options.warmup, threads, options.peak_size,
            backends=options.backends or inference.DEFAULT_BACKENDS,
            calibration_count=options.calibration_count,
            image_folder=options.calibration_folder or None, log=log, conditional=conditional,
            test_folder=options.test_folder or None,
        )
    if "models" in options.sections:
        report["models"] = inference.compare(
            options.compare_models, options.sizes, options.repeats, options.warmup, threads,
            options.peak_size, backends=options.backends or COMPARE_BACKENDS,
            calibration_count=options.calibration_count,
            image_folder=options.calibration_folder or None, log=log,
            test_folder=options.test_folder or None,
        )
    if "layers" in options.sections:
        from dstyle_tf.benchmark import layers

        report["layers"] = [
            layers.profile(
                net, inference.benchmark_images(size, options.calibration_count,
                                           options.calibration_folder or None),
                threads, options.repeats, options.warmup, log=log)
            for size in options.sizes
        ]
    if "training" in options.sections:
        report["training"] = training.run(
            options.train_size, options.train_batch, options.train_repeats or options.repeats,
            options.warmup, options.peak_size, xla_modes=options.train_xla,
            depth_architecture=options.depth_architecture,
            cross_check=options.cross_check, log=log,
        )
    if "pipeline" in options.sections:
        report["pipeline"] = pipeline.run(
            options.train_size, options.train_batch, options.repeats, options.warmup,
            image_folder=options.image_folder or None, num_images=options.pipeline_images,
            jpeg_size=options.pipeline_jpeg_size, log=log,
        )
    if "memory" in options.sections:
        report["memory"] = memory.run(
            net, options.memory_sizes, options.tile_size, options.tile_overlap,
            baseline_size=options.memory_baseline or None, log=log,
        )
    if "video" in options.sections:
        report["video"] = video.run(
            net, options.video_backends, options.video_size, options.video_frames,
            options.video_repeats, options.warmup, threads, options.calibration_count, log=log,
        )
    report["peak_end"] = peak.matmul_peak(options.peak_size, max(3, options.repeats), options.warmup)
    report_lib.evaluate_targets(report)
    report["conditions"]["load_average_end"] = machine.load_average()
    report["conditions"]["wall_s"] = time.time() - start
    return report
