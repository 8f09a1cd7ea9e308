"""Inference latency of the transformation network at several sizes.

Backends, each on one float32 image (1, S, S, 3) in [0, 255]:

- `keras` / `keras_xla`: the Keras model under `tf.function`, without and
  with XLA (`jit_compile=True`);
- `saved_model`: the TF Serving export (`export.saved_model.save`), reloaded,
  signature `serving_default`;
- `tflite_<variant>`: the TFLite models of `export.tflite.convert_all`
  (float32, float16, dynamic_int8, int8) run by ai-edge-litert's interpreter
  with `threads` threads.

FLOPs per size are counted analytically from the layers (`flops.layer_flops`)
and cross-checked with XLA's HLO (`flops.xla_flops`). Quantised variants are
compared with the TFLite float32 model (PSNR on the test images).
"""

import os
import tempfile
import time

import numpy as np
import tensorflow as tf

from dstyle_tf import stylizers
from dstyle_tf.benchmark import flops as flops_lib
from dstyle_tf.benchmark import peak as peak_lib
from dstyle_tf.benchmark import timing
from export import exporter
from export import saved_model as saved_model_lib
from export import tflite as tflite_lib

TFLITE_VARIANTS = tflite_lib.VARIANTS
BACKENDS = ("keras", "keras_xla", "saved_model") + tuple(
    f"tflite_{variant}" for variant in TFLITE_VARIANTS
)


def network_flops(model, sizes):
    """{size: {"analytic": FLOPs, "xla": FLOPs}} for one (1, S, S, 3) image."""
    result = {}
    for size in sizes:
        shape = (1, size, size, 3)
        analytic = flops_lib.layer_flops(model, shape, training=False)
        xla = flops_lib.xla_flops(
            lambda x: model(x, training=False), tf.zeros(shape, tf.float32)
        )["total"]
        result[size] = {"analytic": analytic, "xla_hlo": xla}
    return result


def _test_images(size, count, folder=None):
    if folder:
        return exporter.folder_images(folder, size, size, limit=count)
    return exporter.synthetic_images(count, size, size, seed=size)


PEAK_KEY = "matmul_peak"


def _record(backend, size, stats, flops, peak_gflops):
    gflops = flops / stats["median_ms"] / 1e6
    return {
        "backend": backend,
        "size": size,
        "batch": 1,
        "flops": flops,
        "gflops_per_s": gflops,
        "peak_gflops": peak_gflops,
        "efficiency_vs_peak": gflops / peak_gflops,
        **stats,
    }


def run(model, sizes, repeats, warmup, threads, peak_size=2048, backends=BACKENDS,
        calibration_count=8, image_folder=None, log=print):
    """Measures every backend at every size.

    Args:
        model: the Keras TransformNet.
        sizes: square sides, e.g. (256, 512, 1024).
        repeats, warmup: timed and untimed calls per measurement; the
            backends of one size are timed round-robin (interleaved).
        threads: ai-edge-litert interpreter threads.
        peak_size: side of the matmul timed among the backends; each size's
            efficiency is against the peak measured with it.
        backends: subset of BACKENDS.
        calibration_count: images for int8 calibration and PSNR.
        image_folder: photos for calibration/PSNR (default synthetic images).

    Returns:
        dict with `flops`, `results` (one row per backend and size), `psnr`
        (quantised TFLite vs TFLite float32 and vs Keras) and `conversion_s`.
    """
    flops = network_flops(model, sizes)
    results, psnr, conversion_s, peaks = [], [], {}, {}
    peak_fn, peak_flops = peak_lib.matmul_callable(peak_size, calls=1)
    keras_fn = tf.function(lambda x: model(x, training=False))
    xla_fn = tf.function(lambda x: model(x, training=False), jit_compile=True)
    with tempfile.TemporaryDirectory(prefix="dstyle_bench_") as scratch:
        serving = None
        if "saved_model" in backends:
            saved_dir = os.path.join(scratch, "saved_model")
            saved_model_lib.save(model, saved_dir)
            serving = tf.saved_model.load(saved_dir).signatures[
                saved_model_lib.DEFAULT_SIGNATURE
            ]
        for size in sizes:
            count = flops[size]["analytic"]
            image = _test_images(size, 1)[0]
            batch = tf.constant(image[None])
            runs = {
                "keras": lambda: keras_fn(batch).numpy(),
                "keras_xla": lambda: xla_fn(batch).numpy(),
                "saved_model": lambda: serving(images=batch)[
                    saved_model_lib.STYLIZED_KEY
                ].numpy(),
            }
            runs = {name: fn for name, fn in runs.items() if name in backends}
            variants = [v for v in TFLITE_VARIANTS if f"tflite_{v}" in backends]
            outputs, file_bytes = {}, {}
            if variants:
                images = _test_images(size, calibration_count, image_folder)
                log(f"inference: converting TFLite {', '.join(variants)} at {size}x{size}")
                start = time.perf_counter()
                paths = tflite_lib.convert_all(
                    model, scratch, variants, (size, size),
                    representative_images=images, prefix=f"bench{size}",
                )
                conversion_s[size] = time.perf_counter() - start
                keras_out = [np.asarray(keras_fn(tf.constant(im[None])))[0] for im in images]
                for variant in variants:
                    runner = stylizers.TFLiteStylizer(paths[variant], num_threads=threads)
                    outputs[variant] = [runner.run(im) for im in images]
                    file_bytes[f"tflite_{variant}"] = os.path.getsize(paths[variant])
                    runs[f"tflite_{variant}"] = lambda runner=runner: runner.run(image)
            log(f"inference: timing {', '.join(runs)} at {size}x{size} (interleaved)")
            stats = timing.measure_interleaved({PEAK_KEY: peak_fn, **runs}, repeats, warmup)
            peaks[size] = peak_lib.summarize(stats[PEAK_KEY], peak_flops, peak_size)
            for backend in runs:
                row = _record(backend, size, stats[backend], count, peaks[size]["gflops"])
                if backend in file_bytes:
                    row["file_bytes"] = file_bytes[backend]
                    row["interpreter_threads"] = threads
                results.append(row)
            runs.clear()
            for variant in variants:
                entry = {
                    "variant": variant,
                    "size": size,
                    "images": len(images),
                    "psnr_db_vs_keras": tflite_lib.psnr(
                        np.stack(keras_out), np.stack(outputs[variant])
                    ),
                }
                if "float32" in outputs and variant != "float32":
                    entry["psnr_db_vs_tflite_float32"] = tflite_lib.psnr(
                        np.stack(outputs["float32"]), np.stack(outputs[variant])
                    )
                psnr.append(entry)
    return {
        "flops": {str(size): value for size, value in flops.items()},
        "results": results,
        "psnr": psnr,
        "conversion_s": {str(size): value for size, value in conversion_s.items()},
        "peaks": {str(size): value for size, value in peaks.items()},
        "calibration_images": image_folder or "synthetic",
    }
