"""The whole export: SavedModel + warm-up + TFLite variants + checks + model card.

Everything for one version is written into a temporary directory beside the
final one and renamed into place only after every check passed:

    <export_dir>/<style>/<version>/
        saved_model.pb, variables/            TF Serving (both signatures)
        assets.extra/tf_serving_warmup_requests
        tflite/<style>_<variant>_<H>x<W>.tflite
        model_card.json                       style, training config, losses, checks

Example:
```python
result = export_model("workdirs/wave", style="wave", version=1)
print(result.table)
```
"""

import dataclasses
import os
import statistics
import time

import numpy as np
import tensorflow as tf
from absl import logging

from dstyle_tf import atomic
from dstyle_tf import data as data_lib
from dstyle_tf import image_io
from dstyle_tf import tables
from dstyle_tf.training import networks as training_networks
from export import model_card as model_card_lib
from export import saved_model as saved_model_lib
from export import styles as styles_lib
from export import tflite as tflite_lib
from export import warmup

KERAS_FILENAME = "transform_net.keras"
# Max |SavedModel - Keras| on the 0-255 scale above which the export fails.
SAVED_MODEL_TOLERANCE = 0.05
# (batch, height, width) checked against Keras; odd sizes on purpose.
SAVED_MODEL_CHECK_SHAPES = ((1, 64, 64), (1, 67, 93), (2, 45, 31))


class VerificationError(RuntimeError):
    """An exported model does not match the Keras model."""


@dataclasses.dataclass
class ExportResult:
    version_dir: str
    model_card: dict
    table: str
    advice: str = ""


# Which TFLite file to use, per CPU class (`benchmark.machine.simd_class`),
# from docs/performance.md ("Which TFLite variant"): ImageNet-trained lite,
# demo and paper-size networks at 512², 2 threads, XNNPACK.
VARIANT_ADVICE = {
    "AVX2": "float32 (or float16, the same speed at half the size): int8 is no faster "
            "without VNNI (lite network 512², AVX2 emulated: see docs/performance.md)",
    "AVX-512": "float32 or float16; int8 only if it is faster in `python -m "
               "dstyle_tf.benchmark` and its PSNR meets the floor",
    "AVX-512 VNNI": "int8, for a network fine-tuned with bounded activations "
                    "(model.activation_clip=6): with its outer blocks in float (the default) "
                    "1.9–2.6× faster than float32 at ≥ 30 dB worst-case on photos; int8 "
                    "everywhere (--int8_float_blocks=) 2.6–4× but 25–30 dB (512², "
                    "docs/performance.md)",
    "ARM dot product": "not measured (no ARM machine here): measure int8 against float16 "
                       "on the phone (TFLite benchmark_model)",
    "other": "float32 or float16",
}


# What lifts int8 accuracy: bounded activations (docs/export_and_serving.md).
BOUNDED_FINE_TUNE = (
    "The network's activations are unbounded; a short fine-tune with them capped (ReLU6) "
    "lifts int8 accuracy: python -m dstyle_tf.train --config=<its config> --workdir=<new> "
    + " ".join(training_networks.bounded_fine_tune_flags("<this model>"))
)


def variant_advice(entries, simd_class, activation_clip=None):
    """Text for the end of an export: the fastest variant the checks timed
    here, the variants below their PSNR floor (with the fine-tuning that
    bounds the activations, if the network's are not: `activation_clip`),
    and `VARIANT_ADVICE`."""
    timed = [e for e in entries if e.get("latency_ms") and e.get("input_size")]
    lines = []
    if timed:
        fastest = min(timed, key=lambda e: e["latency_ms"])
        times = ", ".join(f"{e['variant']} {e['latency_ms']:.0f}" for e in timed)
        lines.append(f"Fastest in the checks on this CPU ({simd_class}): {fastest['variant']} "
                     f"(ms: {times}; one run after another, not interleaved: "
                     "`python -m dstyle_tf.benchmark` compares fairly).")
    low = [f"{e['variant']} {e['psnr_db_worst']:.1f} dB (floor "
           f"{tflite_lib.PSNR_FLOORS_DB[e['variant']]:.0f})"
           for e in entries if e.get("below_psnr_floor")]
    if low:
        lines.append("Below the PSNR floor on the test photos (worst image vs Keras): "
                     + ", ".join(low) + ".")
        if activation_clip is None:
            lines.append(BOUNDED_FINE_TUNE)
    lines.append(f"For {simd_class} CPUs: {VARIANT_ADVICE.get(simd_class, VARIANT_ADVICE['other'])}.")
    return "\n".join(lines)


def resolve_model_path(path):
    """(path of the .keras file, training workdir or None) for a workdir or file."""
    path = os.fspath(path)
    if os.path.isdir(path):
        keras_path = os.path.join(path, KERAS_FILENAME)
        if not os.path.isfile(keras_path):
            raise FileNotFoundError(f"{path}: no {KERAS_FILENAME} in this directory.")
        return keras_path, path
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file or directory.")
    if not path.endswith(".keras"):
        raise ValueError(f"{path}: expected a training workdir or a .keras file.")
    # config.json / final_losses.json are looked for beside the file.
    return path, os.path.dirname(os.path.abspath(path))


def load_keras_model(path):
    import keras

    import dstyle_tf.models  # noqa: F401  (registers TransformNet)

    return keras.saving.load_model(path, compile=False)


def synthetic_images(count, height, width, seed=0):
    """`data.synthetic_images` of any (height, width): float32 (count, H, W, 3)
    in [0, 255]. Used when no real images are given."""
    side = max(height, width)
    return data_lib.synthetic_images(count, side, seed=seed)[:, :height, :width]


def folder_images(folder, height, width, limit=None):
    """Images of `folder`, centre-cropped and resized to (height, width)."""
    images = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        try:
            images.append(image_io.load_image(path, size=(height, width)))
        except image_io.ImageReadError as e:
            logging.warning("Skipping %s", e)
            continue
        if limit and len(images) >= limit:
            break
    if not images:
        raise ValueError(f"{folder}: contains no readable images.")
    return images


def _directory_size(path, exclude=()):
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d not in exclude]
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def _style_requests(weights, batch, style_names):
    """The SavedModel signatures that must reproduce (N,) `weights` (None for
    a single-style model) on `batch` images, with their style inputs:
    ([(image signature, inputs)], [(bytes signature, inputs)]). A style
    (one-hot) is asked by weights, by index and by name; a blend by weights."""
    if weights is None:
        return [(saved_model_lib.DEFAULT_SIGNATURE, {})], [(saved_model_lib.BYTES_SIGNATURE, {})]
    key = saved_model_lib.STYLE_KEY
    images = [(saved_model_lib.DEFAULT_SIGNATURE,
               {saved_model_lib.STYLE_WEIGHTS_KEY: tf.constant(np.tile(weights, (batch, 1)))})]
    if weights.max() < 1:  # a blend: no style index
        return images, []
    index = int(np.argmax(weights))
    by_index = {key: tf.fill([batch], index)}
    by_name = {key: tf.fill([batch], style_names[index])}
    images += [(saved_model_lib.STYLE_SIGNATURE, by_index),
               (saved_model_lib.STYLE_NAME_SIGNATURE, by_name)]
    return images, [(saved_model_lib.BYTES_SIGNATURE, by_index),
                    (saved_model_lib.BYTES_NAME_SIGNATURE, by_name)]


def verify_saved_model(directory, model, shapes=SAVED_MODEL_CHECK_SHAPES, timing_size=None):
    """Reloads the SavedModel and compares every signature with Keras, for
    every style of a multi-style model (asked by weights, index and name) and
    an even blend of them (`styles.style_cases`).

    Returns:
        dict: `max_abs_diff` (float signatures, 0-255 scale), `bytes_max_abs_diff`
        (PNG signatures vs rounded Keras output), `checked_shapes`,
        `checked_styles`, `checked_signatures`, `latency_ms`.
    """
    loaded = tf.saved_model.load(directory)
    serve = loaded.signatures[saved_model_lib.DEFAULT_SIGNATURE]
    cases = styles_lib.style_cases(styles_lib.num_styles(model))
    names = list(getattr(model, "style_names", []))
    max_abs = bytes_max_abs = 0.0
    checked = set()
    image = image_io.to_uint8(synthetic_images(1, 41, 59, seed=7)[0])
    png = tf.io.encode_png(image).numpy()
    for weights in cases:
        for index, (batch, height, width) in enumerate(shapes):
            images = np.stack(synthetic_images(batch, height, width, seed=100 + index))
            expected = styles_lib.keras_output(model, images, weights)
            for signature, inputs in _style_requests(weights, batch, names)[0]:
                actual = loaded.signatures[signature](images=tf.constant(images), **inputs)
                actual = actual[saved_model_lib.STYLIZED_KEY].numpy()
                max_abs = max(max_abs, float(np.max(np.abs(actual - expected))))
                checked.add(signature)
        expected = image_io.to_uint8(
            styles_lib.keras_output(model, image[None].astype(np.float32), weights)[0]
        )
        for signature, inputs in _style_requests(weights, 1, names)[1]:
            encoded = loaded.signatures[signature](image_bytes=tf.constant([png]), **inputs)
            decoded = tf.io.decode_png(encoded[saved_model_lib.PNG_BYTES_KEY].numpy()[0])
            decoded = decoded.numpy().astype(np.float32)
            bytes_max_abs = max(bytes_max_abs, float(np.max(np.abs(decoded - expected))))
            checked.add(signature)

    latency = None
    if timing_size:
        images = tf.constant(np.stack(synthetic_images(1, *timing_size, seed=1)))
        (_, by_weights), *_ = _style_requests(cases[0], 1, names)[0]
        times = []
        for _ in range(4):
            start = time.perf_counter()
            serve(images=images, **by_weights)
            times.append(1000 * (time.perf_counter() - start))
        latency = statistics.median(times[1:])
    result = {
        "max_abs_diff": max_abs,
        "bytes_max_abs_diff": bytes_max_abs,
        "checked_shapes": [list(shape) + [3] for shape in shapes],
        "checked_styles": len(cases),
        "checked_signatures": sorted(checked),
        "latency_ms": latency,
    }
    if max_abs > SAVED_MODEL_TOLERANCE or bytes_max_abs > 1.0:
        raise VerificationError(f"SavedModel does not match the Keras model: {result}")
    return result


def format_table(rows):
    """Plain-text table of the exports (file, size, PSNR pooled and of the
    worst image, max diff, latency)."""

    def number(row, key, fmt):
        value = row.get(key)
        return None if value is None else format(value, fmt)

    return tables.format_table(
        ("export", "file", "size MB", "PSNR dB", "worst image dB", "max |diff|", "latency ms"),
        [
            (row["name"], row["file"], number(row, "size_bytes_mb", ".2f"),
             number(row, "psnr_db", ".1f"), number(row, "psnr_db_worst", ".1f"),
             number(row, "max_abs_diff", ".4f"),
             number(row, "latency_ms", ".1f"))
            for row in rows
        ],
    )


def _export_tflite(model, directory, style, variants, size, dynamic, test_images,
                   calibration_images, uint8_io, int8_float_ops, num_threads, photos=False,
                   int8_float_blocks=()):
    """Converts and verifies each variant; returns model-card entries. With
    `photos` (the test images are real photos), a quantised variant whose
    worst image is below `tflite.PSNR_FLOORS_DB` is logged and marked
    `below_psnr_floor`."""
    os.makedirs(directory, exist_ok=True)
    entries = []
    for input_size in [size] + ([None] if dynamic else []):
        try:
            paths = tflite_lib.convert_all(
                model, directory, variants, input_size, calibration_images,
                uint8_io, prefix=style, int8_float_ops=int8_float_ops,
                int8_float_blocks=int8_float_blocks,
            )
        except tflite_lib.ConversionError as e:
            if input_size is not None:
                raise
            logging.warning("Dynamic-size TFLite models skipped: %s", e)
            entries.append({"variant": "dynamic", "input_size": None, "error": str(e)})
            continue
        for variant, path in paths.items():
            logging.info("Verifying %s", os.path.basename(path))
            checks = tflite_lib.verify(path, model, test_images, num_threads=num_threads)
            floor = tflite_lib.PSNR_FLOORS_DB.get(variant)
            if photos and floor is not None and checks["psnr_db_worst"] < floor:
                checks["below_psnr_floor"] = True
                logging.warning("%s: worst-case PSNR %.1f dB against Keras on the test photos, "
                                "below the %.0f dB floor of %s", os.path.basename(path),
                                checks["psnr_db_worst"], floor, variant)
            quantized_io = variant == "int8" and uint8_io
            mixed = tflite_lib.keeps_float(variant, uint8_io, int8_float_ops)
            entries.append({
                "variant": variant,
                "file": os.path.relpath(path, os.path.dirname(directory)),
                "input_size": list(input_size) if input_size else None,
                "signature": tflite_lib.SIGNATURE_KEY,
                "float_ops": list(int8_float_ops) if mixed else [],
                "float_blocks": list(int8_float_blocks) if mixed else [],
                "input": {
                    "name": tflite_lib.INPUT_NAME,
                    "dtype": "uint8" if quantized_io else "float32",
                    "shape": [1, *(input_size or (-1, -1)), 3],
                    "range": [0, 255],
                },
                "output": {
                    "name": tflite_lib.OUTPUT_NAME,
                    "dtype": "uint8" if quantized_io else "float32",
                    "range": [0, 255],
                },
                **checks,
            })
    return entries


def export_model(
    model_path,
    style=None,
    version=None,
    export_dir="saved_models",
    overwrite=False,
    max_pixels=saved_model_lib.DEFAULT_MAX_PIXELS,
    tflite_variants=tflite_lib.VARIANTS,
    tflite_size=(tflite_lib.DEFAULT_SIZE, tflite_lib.DEFAULT_SIZE),
    tflite_dynamic=False,
    representative_images=None,
    test_images=None,
    uint8_io=False,
    int8_float_ops=tflite_lib.INT8_FLOAT_OPS,
    num_threads=None,
    warmup_size=(256, 256),
    int8_float_blocks=tflite_lib.OUTER_BLOCKS,
):
    """Exports a trained TransformNet for TF Serving and TFLite (see module doc).

    Args:
        model_path: training workdir or `.keras` file.
        style: style name (the TF Serving model name); default: the training
            config's `style.name`.
        version: positive int; default: one more than the highest existing.
        export_dir: root of the TF Serving layout.
        overwrite: replace an existing version (atomically).
        max_pixels: SavedModel request size cap (B·H·W).
        tflite_variants: subset of `tflite.VARIANTS`; empty for no TFLite.
        tflite_size: (height, width) of the fixed-size TFLite models.
        tflite_dynamic: also write dynamic-size TFLite models (any H, W).
        representative_images: folder of images for int8 calibration
            (default: synthetic images).
        test_images: folder of images to verify TFLite on (default: the
            representative folder, else synthetic images).
        uint8_io: uint8 input/output tensors for the full int8 model.
        int8_float_ops: op names the int8 model keeps in float (see
            `tflite.INT8_FLOAT_OPS`); () for a strictly all-int8 model.
        num_threads: TFLite interpreter threads for the checks.
        warmup_size: (height, width) of the warm-up requests.
        int8_float_blocks: network blocks the int8 model keeps wholly in
            float (default `tflite.OUTER_BLOCKS`, where int8 loses most
            accuracy); () for int8 everywhere: faster, less accurate.

    Returns:
        ExportResult.
    """
    keras_path, workdir = resolve_model_path(model_path)
    training_config, final_losses = model_card_lib.read_training_record(workdir)
    style = style or model_card_lib.style_from_config(training_config)[0]
    final_dir, version = plan_version(export_dir, style, version, overwrite)
    model = load_keras_model(keras_path)
    image_folder = test_images or representative_images
    tests, calibration = verification_images(
        tuple(tflite_size), test_images, representative_images
    )

    with atomic.directory(final_dir, overwrite=overwrite) as scratch:
        saved = _write_saved_model(model, scratch, style, max_pixels, warmup_size, tflite_size)
        tflite_entries = []
        if tflite_variants:
            tflite_entries = _export_tflite(
                model, os.path.join(scratch, "tflite"), style, tflite_variants,
                tuple(tflite_size), tflite_dynamic, tests, calibration, uint8_io,
                tuple(int8_float_ops), num_threads, photos=bool(image_folder),
                int8_float_blocks=tuple(int8_float_blocks),
            )
        card = model_card_lib.build_model_card(
            style=style,
            version=version,
            model_path=keras_path,
            architecture=model.get_config(),
            training_config=training_config,
            final_losses=final_losses,
            saved_model=saved,
            tflite=tflite_entries,
            verification_images=os.path.abspath(image_folder) if image_folder else "synthetic",
            styles=model.style_names if styles_lib.num_styles(model) > 1 else None,
        )
        model_card_lib.write_model_card(scratch, card)
    table = format_table(summary_rows(style, version, saved, tflite_entries))
    from dstyle_tf.benchmark import machine

    advice = variant_advice(tflite_entries, machine.simd_class(machine.cpu_flags()),
                            getattr(model, "activation_clip", None))
    return ExportResult(final_dir, card, table, advice if tflite_entries else "")


def plan_version(export_dir, style, version=None, overwrite=False):
    """(directory, version) of the export `<export_dir>/<style>/<version>`.

    `version` None means one more than the highest existing version.

    Raises:
        ValueError: for a missing or unusable style name or a version < 1.
        FileExistsError: if that version exists and `overwrite` is False.
    """
    if not style:
        raise ValueError("No style name: pass one (the config has no style.name).")
    if os.sep in style or style.startswith(".") or not style.strip():
        raise ValueError(f"Invalid style name {style!r}: use a plain directory name.")
    style_dir = os.path.join(export_dir, style)
    if version is None:
        existing = os.listdir(style_dir) if os.path.isdir(style_dir) else []
        version = max((int(n) for n in existing if n.isdigit()), default=0) + 1
    if int(version) < 1:
        raise ValueError(f"version must be a positive integer; got {version}.")
    version = int(version)
    final_dir = os.path.join(style_dir, str(version))
    if os.path.exists(final_dir) and not overwrite:
        raise FileExistsError(f"{final_dir} already exists; pass another version or overwrite.")
    return final_dir, version


def verification_images(size, test_images=None, representative_images=None):
    """(test images, calibration images) of `size` (height, width) for TFLite.

    From the given folders (tests: `test_images`, else the representative
    folder; at most 8 and 64 images) or synthetic.
    """
    folder = test_images or representative_images
    tests = folder_images(folder, *size, limit=8) if folder else synthetic_images(4, *size, seed=1)
    calibration = (
        folder_images(representative_images, *size, limit=64)
        if representative_images else synthetic_images(16, *size, seed=2)
    )
    return tests, calibration


def _write_saved_model(model, directory, style, max_pixels, warmup_size, timing_size):
    """Writes and verifies the SavedModel and its warm-up requests in
    `directory`; returns the model card's `saved_model` section."""
    logging.info("Writing SavedModel to %s", directory)
    saved_model_lib.save(model, directory, max_pixels=max_pixels)
    records = warmup.warmup_records(
        style, warmup_size, styles_lib.num_styles(model), getattr(model, "style_names", None)
    )
    warmup.write_warmup_file(directory, records)
    if timing_size[0] * timing_size[1] > max_pixels:
        timing_size = None
    checks = verify_saved_model(directory, model, timing_size=timing_size)
    return {
        "path": ".",
        "signatures": signature_descriptions(styles_lib.num_styles(model)),
        "max_pixels": max_pixels,
        "size_bytes": _directory_size(directory, exclude=("assets.extra",)),
        **checks,
    }


def signature_descriptions(num_styles=1):
    """The serving signatures as the model card describes them."""
    images = {saved_model_lib.IMAGES_KEY: "float32 (B, H, W, 3) in [0, 255]"}
    stylized = {saved_model_lib.STYLIZED_KEY: "float32 (B, H, W, 3) in [0, 255]"}
    image_bytes = {saved_model_lib.IMAGE_BYTES_KEY: "string (B,) JPEG or PNG"}
    png = {saved_model_lib.PNG_BYTES_KEY: "string (B,) PNG"}
    if num_styles == 1:
        return {
            saved_model_lib.DEFAULT_SIGNATURE: {"inputs": images, "outputs": stylized},
            saved_model_lib.BYTES_SIGNATURE: {"inputs": image_bytes, "outputs": png},
        }
    style = {saved_model_lib.STYLE_KEY: f"int32 (B,) style index in [0, {num_styles})"}
    style_name = {
        saved_model_lib.STYLE_KEY: "string (B,) style name (model card `styles`) or index as text"
    }
    weights = {
        saved_model_lib.STYLE_WEIGHTS_KEY:
            f"float32 (B, {num_styles}) non-negative, divided by each row's sum"
    }
    return {
        saved_model_lib.DEFAULT_SIGNATURE: {"inputs": {**images, **weights}, "outputs": stylized},
        saved_model_lib.STYLE_SIGNATURE: {"inputs": {**images, **style}, "outputs": stylized},
        saved_model_lib.BYTES_SIGNATURE: {"inputs": {**image_bytes, **style}, "outputs": png},
        saved_model_lib.STYLE_NAME_SIGNATURE: {
            "inputs": {**images, **style_name}, "outputs": stylized},
        saved_model_lib.BYTES_NAME_SIGNATURE: {
            "inputs": {**image_bytes, **style_name}, "outputs": png},
    }


def summary_rows(style, version, saved_model, tflite_entries):
    """Rows of `format_table` from the model card's `saved_model` section and
    `tflite` entries (before they are made JSON-safe: PSNR may be inf)."""
    saved = saved_model
    rows = [{
        "name": "saved_model", "file": f"{style}/{version}/",
        "size_bytes_mb": saved["size_bytes"] / 1e6, "psnr_db": None,
        "max_abs_diff": saved["max_abs_diff"], "latency_ms": saved["latency_ms"],
    }]
    for entry in tflite_entries:
        if "error" in entry:
            continue
        size_tag = "x".join(map(str, entry["input_size"])) if entry["input_size"] else "dynamic"
        rows.append({
            "name": f"tflite {entry['variant']} {size_tag}", "file": entry["file"],
            "size_bytes_mb": entry["size_bytes"] / 1e6, **entry,
        })
    return rows
