"""Inference latency of the transformation network at several sizes.

Backends, each on one float32 image (1, S, S, 3) in [0, 255]:

- `keras` / `keras_xla`: the Keras model under `tf.function`, without and
  with XLA (`jit_compile=True`);
- `saved_model`: the TF Serving export (`export.saved_model.save`), reloaded,
  signature `serving_default`;
- `tflite_<variant>`: the TFLite models of `export.tflite.convert_all`
  (float32, float16, dynamic_int8, int8, and `int8_outer_float`: int8 with
  `tflite.OUTER_BLOCKS` kept in float) run by ai-edge-litert's interpreter
  with `threads` threads; each row also records what its XNNPACK delegate
  took (`tflite.xnnpack_delegation`: nodes, delegated nodes, partitions).

FLOPs per size are counted analytically from the layers (`flops.layer_flops`)
and cross-checked with XLA's HLO (`flops.xla_flops`). Quantised variants are
compared with the TFLite float32 model (PSNR on the test images).

A multi-style network is run with its first style (one-hot weights). Given a
`conditional` twin (the same network holding N styles,
`models.conditional_twin`), every backend also runs it, interleaved with the
plain network so both see the same machine load: rows `<backend>+<N>styles`
and `conditional_ratio` (its median time over the plain network's).
`compare` runs the same measurement for several networks (the lite sizes
against the full one), with the CPU's instruction sets beside the figures.
"""

import os
import tempfile
import time

import numpy as np
import tensorflow as tf

from dstyle_tf.stylization import stylizers
from dstyle_tf.benchmark import flops as flops_lib
from dstyle_tf.benchmark import isa
from dstyle_tf.benchmark import machine
from dstyle_tf.benchmark import models as models_lib
from dstyle_tf.benchmark import peak as peak_lib
from dstyle_tf.benchmark import timing
from export import exporter
from export import saved_model as saved_model_lib
from export import styles as styles_lib
from export import tflite as tflite_lib

# int8 with the outer blocks in float (`export.tflite.OUTER_BLOCKS`).
OUTER_FLOAT = "int8_outer_float"
TFLITE_VARIANTS = tflite_lib.VARIANTS + (OUTER_FLOAT,)
BACKENDS = ("keras", "keras_xla", "saved_model") + tuple(
    f"tflite_{variant}" for variant in TFLITE_VARIANTS
)
# What an empty backend list runs: the mixed int8 model only when asked for.
DEFAULT_BACKENDS = tuple(b for b in BACKENDS if b != f"tflite_{OUTER_FLOAT}")


def style_vector(model):
    """(N,) one-hot weights of a multi-style model's first style, else None."""
    count = styles_lib.num_styles(model)
    return None if count == 1 else np.eye(1, count, dtype=np.float32)[0]


def _call_kwargs(model):
    """Keyword arguments of a Keras call: the first style's weights, if any."""
    weights = style_vector(model)
    return {"training": False} | ({} if weights is None else {"style_weights": weights[None]})


def network_flops(model, sizes):
    """{size: {"analytic": FLOPs, "xla": FLOPs}} for one (1, S, S, 3) image."""
    result = {}
    kwargs = _call_kwargs(model)
    for size in sizes:
        shape = (1, size, size, 3)
        analytic = flops_lib.layer_flops(model, shape, **kwargs)
        xla = flops_lib.xla_flops(
            lambda x: model(x, **kwargs), tf.zeros(shape, tf.float32)
        )["total"]
        result[size] = {"analytic": analytic, "xla_hlo": xla}
    return result


def benchmark_images(size, count, folder=None):
    """`count` float32 (size, size, 3) images: photos from `folder`, else synthetic ones."""
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
        calibration_count=8, image_folder=None, log=print, conditional=None, test_folder=None):
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
        test_folder: other photos to measure PSNR on (default: the
            calibration images), e.g. held-out photos.
        conditional: optional N-style twin of `model` (see module doc).

    Returns:
        dict with `flops`, `results` (one row per backend and size), `psnr`
        (quantised TFLite vs TFLite float32 and vs Keras), `conversion_s`
        and, with `conditional`, `conditional_ratio` {size: {backend: ratio}}.
    """
    networks = {"": model}
    if conditional is not None:
        networks[f"+{styles_lib.num_styles(conditional)}styles"] = conditional
    flops = network_flops(model, sizes)
    twin_flops = {
        size: flops_lib.layer_flops(conditional, (1, size, size, 3), **_call_kwargs(conditional))
        for size in (sizes if conditional is not None else ())
    }
    results, psnr, conversion_s, peaks = [], [], {}, {}
    peak = peak_lib.matmul_callable(peak_size, calls=1)
    keras_fns = {suffix: _keras_fns(net) for suffix, net in networks.items()}
    variants = [v for v in TFLITE_VARIANTS if f"tflite_{v}" in backends]
    with tempfile.TemporaryDirectory(prefix="dstyle_bench_") as scratch:
        serving = {
            suffix: _serving_call(net, os.path.join(scratch, f"saved_model{suffix}"))
            for suffix, net in networks.items() if "saved_model" in backends
        }
        for size in sizes:
            image = benchmark_images(size, 1)[0]
            runs, tflite = {}, {}
            for suffix in networks:
                runs |= {
                    backend + suffix: fn for backend, fn in
                    _tensorflow_runs(keras_fns[suffix], serving.get(suffix), image, backends).items()
                }
            if variants:
                images = benchmark_images(size, calibration_count, image_folder)
                log(f"inference: converting TFLite {', '.join(variants)} at {size}x{size}")
                start = time.perf_counter()
                for suffix, net in networks.items():
                    tflite |= {
                        backend + suffix: entry for backend, entry in _tflite_runners(
                            net, scratch, variants, size, images, threads, f"bench{size}{suffix}"
                        ).items()
                    }
                conversion_s[size] = time.perf_counter() - start
                tests = benchmark_images(size, calibration_count, test_folder) if test_folder else images
                psnr += _psnr_entries(size, tests, keras_fns[""]["keras"], tflite, style_vector(model))
                for backend, (runner, weights, *_) in tflite.items():
                    runs[backend] = lambda runner=runner, weights=weights: runner.run(image, weights)
            log(f"inference: timing {', '.join(runs)} at {size}x{size} (interleaved)")
            peaks[size], rows = _time_size(runs, peak, peak_size, repeats, warmup)
            for backend, stats in rows.items():
                suffix = next(s for s in reversed(networks) if backend.endswith(s))
                count = twin_flops[size] if suffix else flops[size]["analytic"]
                row = _record(backend, size, stats, count, peaks[size]["gflops"])
                row["num_styles"] = styles_lib.num_styles(networks[suffix])
                if backend in tflite:
                    row["file_bytes"] = tflite[backend][2]
                    row["interpreter_threads"] = threads
                    row["xnnpack"] = tflite[backend][3]
                results.append(row)
    result = {
        "flops": {str(size): value for size, value in flops.items()},
        "results": results,
        "psnr": psnr,
        "conversion_s": {str(size): value for size, value in conversion_s.items()},
        "peaks": {str(size): value for size, value in peaks.items()},
        "calibration_images": image_folder or "synthetic",
        "test_images": test_folder or image_folder or "synthetic",
        "cpu": machine.isa_summary(machine.cpu_isa())
        + (" (emulated)" if isa.active_mask() else ""),
    }
    if conditional is not None:
        result["conditional_ratio"] = conditional_ratios(results, list(networks)[1])
    return result


def compare(specs, sizes, repeats, warmup, threads, peak_size=2048,
            backends=("tflite_float32", "tflite_int8"), calibration_count=8,
            image_folder=None, log=print, test_folder=None):
    """`run` for each network of `specs` (`models.load_transform_net`: a
    keyword such as "default" or "lite", a size such as "f16b3dw", or a
    .keras file), one after the other, each with its own matmul peak.

    Returns:
        dict with `cpu_isa` ({"AVX2": bool, ...}) and `models`: per network
        its `model`, `description` and the `run` result.
    """
    entries = []
    for spec in specs:
        net, info = models_lib.load_transform_net(spec)
        log(f"models: {spec} ({info['description']})")
        result = run(net, sizes, repeats, warmup, threads, peak_size, backends=backends,
                     calibration_count=calibration_count, image_folder=image_folder, log=log,
                     test_folder=test_folder)
        entries.append({"model": spec, "description": info["description"], **result})
    return {"cpu_isa": machine.cpu_isa(), "isa_emulation": isa.describe(isa.active_mask()),
            "models": entries}


def conditional_ratios(results, suffix):
    """{size: {backend: median time of `<backend><suffix>` / that of `backend`}}."""
    medians = {(r["backend"], r["size"]): r["median_ms"] for r in results}
    ratios = {}
    for (backend, size), median in medians.items():
        twin = medians.get((backend + suffix, size))
        if twin is not None:
            ratios.setdefault(str(size), {})[backend] = twin / median
    return ratios


def _keras_fns(model):
    """{"keras", "keras_xla"}: the model (first style) under tf.function, without and with XLA."""
    kwargs = _call_kwargs(model)
    return {
        "keras": tf.function(lambda x: model(x, **kwargs)),
        "keras_xla": tf.function(lambda x: model(x, **kwargs), jit_compile=True),
    }


def _serving_call(model, saved_dir):
    """The model exported as a SavedModel in `saved_dir`, reloaded: a call of
    its `serving_default` signature on a batch (first style)."""
    saved_model_lib.save(model, saved_dir)
    signature = tf.saved_model.load(saved_dir).signatures[saved_model_lib.DEFAULT_SIGNATURE]
    weights = style_vector(model)
    inputs = {} if weights is None else {saved_model_lib.STYLE_WEIGHTS_KEY: tf.constant(weights[None])}
    return lambda batch: signature(images=batch, **inputs)[saved_model_lib.STYLIZED_KEY]


def _tensorflow_runs(keras_fns, serving, image, backends):
    """{backend: call} for the Keras and SavedModel backends in `backends`."""
    batch = tf.constant(image[None])
    runs = {name: (lambda fn=fn: fn(batch).numpy()) for name, fn in keras_fns.items()}
    if serving is not None:
        runs["saved_model"] = lambda: serving(batch).numpy()
    return {name: fn for name, fn in runs.items() if name in backends}


def _tflite_runners(model, scratch, variants, size, images, threads, prefix):
    """{"tflite_<variant>": (interpreter runner, style weights, file bytes,
    XNNPACK delegation)} of size×size models converted into `scratch` (int8
    calibrated on `images`); the delegation is `tflite.xnnpack_delegation`'s
    nodes, delegated nodes, partitions and the ops left outside."""
    paths = tflite_lib.convert_all(
        model, scratch, [v for v in variants if v != OUTER_FLOAT], (size, size),
        representative_images=images, prefix=prefix,
    )
    if OUTER_FLOAT in variants:
        paths[OUTER_FLOAT] = tflite_lib.convert_all(
            model, scratch, ["int8"], (size, size), representative_images=images,
            prefix=f"{prefix}_outer", int8_float_blocks=tflite_lib.OUTER_BLOCKS,
        )["int8"]
    return {
        f"tflite_{variant}": (
            stylizers.TFLiteStylizer(paths[variant], num_threads=threads),
            style_vector(model),
            os.path.getsize(paths[variant]),
            {key: value for key, value in tflite_lib.xnnpack_delegation(
                paths[variant], threads).items() if key != "ops"},
        )
        for variant in variants
    }


def _psnr_entries(size, images, keras_fn, tflite, weights=None):
    """PSNR of each TFLite variant's outputs on `images` against Keras
    (pooled, and the worst and mean of the per-image values) and, for the
    other variants, against TFLite float32 (plain network only)."""
    keras_out = np.stack([np.asarray(keras_fn(tf.constant(im[None])))[0] for im in images])
    outputs = {
        backend.removeprefix("tflite_"): np.stack([runner.run(im, weights) for im in images])
        for backend, (runner, *_) in tflite.items() if "+" not in backend
    }
    entries = []
    for variant, output in outputs.items():
        per_image = [tflite_lib.psnr(k, o) for k, o in zip(keras_out, output)]
        entry = {
            "variant": variant,
            "size": size,
            "images": len(images),
            "psnr_db_vs_keras": tflite_lib.psnr(keras_out, output),
            "psnr_db_worst_vs_keras": min(per_image),
            "psnr_db_mean_vs_keras": float(np.mean(per_image)),
        }
        if "float32" in outputs and variant != "float32":
            entry["psnr_db_vs_tflite_float32"] = tflite_lib.psnr(outputs["float32"], output)
        entries.append(entry)
    return entries


def _time_size(runs, peak, peak_size, repeats, warmup):
    """(matmul peak summary, {backend: timing stats}): `runs` timed
    round-robin with the peak matmul."""
    peak_fn, peak_flops = peak
    stats = timing.measure_interleaved({PEAK_KEY: peak_fn, **runs}, repeats, warmup)
    summary = peak_lib.summarize(stats.pop(PEAK_KEY), peak_flops, peak_size)
    return summary, stats
