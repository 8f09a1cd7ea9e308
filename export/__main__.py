r"""Export a trained TransformNet for TF Serving and TFLite.

    python -m export --model=workdirs/wave --style=wave --version=1 \
        [--export_dir=saved_models] [--tflite_size=384] [--representative_images=photos/]
    python -m export --pretrained --output=saved_models/

`--pretrained` exports the networks that ship with the package
(`dstyle_tf.pretrained`), each under its style's name (`--style`: only that
one), and writes `<export_dir>/models.config` for TF Serving to serve them
together; `--output` is `--export_dir`.

Writes `<export_dir>/<style>/<version>/` atomically (SavedModel with
`serving_default` and `serving_bytes` signatures, warm-up requests, TFLite
models under `tflite/`, `model_card.json`) and prints a table of sizes, PSNR
against the Keras model and latency. See `export.exporter.export_model`.
"""

import sys

from absl import app
from absl import flags

from dstyle_tf.errors import UserError
from export import exporter
from export import saved_model
from export import tflite

flags.DEFINE_string(
    "model", None,
    "Training workdir (containing transform_net.keras, and optionally "
    "config.json and final_losses.json) or a .keras file. Or --pretrained.",
)
flags.DEFINE_bool(
    "pretrained", False,
    "Export the networks shipped with the package (python -m dstyle_tf.stylize "
    "--list_styles), each under its style's name, instead of --model; with --style "
    "only that one.",
)
flags.DEFINE_string(
    "style", None,
    "Style name, used as the TF Serving model name and directory. Default: "
    "style.name from the workdir's config.json.",
)
flags.DEFINE_integer(
    "version", None,
    "Version number (TF Serving loads the highest). Default: one more than the "
    "highest existing version.",
    lower_bound=1,
)
flags.DEFINE_string("export_dir", "saved_models", "Root directory of the TF Serving layout.")
flags.DEFINE_alias("output", "export_dir")
flags.DEFINE_string(
    "model_config_base", saved_model.SERVER_MODELS_DIR,
    "With --pretrained: the folder the server sees --export_dir as, for models.config "
    "(Docker: /models; a local tensorflow_model_server: the export folder's absolute path).",
)
flags.DEFINE_bool(
    "overwrite", False,
    "Replace an existing version (the new one is complete before the old one goes).",
)
flags.DEFINE_integer(
    "max_pixels", saved_model.DEFAULT_MAX_PIXELS,
    "SavedModel size cap: requests with more pixels (batch x height x width) "
    "are refused with InvalidArgument.",
    lower_bound=1,
)
flags.DEFINE_list(
    "tflite_variants", list(tflite.VARIANTS),
    f"TFLite models to write, from {', '.join(tflite.VARIANTS)}. Empty for none.",
)
flags.DEFINE_list(
    "tflite_size", [str(tflite.DEFAULT_SIZE)],
    "Fixed TFLite input size: SIDE or HEIGHT,WIDTH (e.g. 384 or 512 or 384,512).",
)
flags.DEFINE_bool(
    "tflite_dynamic", False,
    "Also write dynamic-size TFLite models (any input H and W; slower than a "
    "fixed size and not for the GPU delegate; skipped with a warning if the "
    "network cannot be converted with unknown sizes).",
)
flags.DEFINE_string(
    "representative_images", None,
    "Folder of photos for full-int8 calibration (default: synthetic images). "
    "Real photos give better int8 models.",
)
flags.DEFINE_string(
    "test_images", None,
    "Folder of photos to verify TFLite models on (default: "
    "--representative_images, else synthetic images).",
)
flags.DEFINE_bool(
    "uint8_io", False,
    "Give the full-int8 model uint8 input/output tensors (scale 1, zero point "
    "0) instead of float32; the model is then all-int8 (--int8_float_ops ignored).",
)
flags.DEFINE_list(
    "int8_float_blocks", list(tflite.OUTER_BLOCKS),
    "Network blocks the int8 model keeps wholly in float32: by default the outer ones, where "
    "int8 loses most accuracy (docs/export_and_serving.md). Empty for int8 everywhere: "
    "faster on VNNI/AMX CPUs, 4–6 dB less accurate. Ignored with --uint8_io.",
)
flags.DEFINE_list(
    "int8_float_ops", list(tflite.INT8_FLOAT_OPS),
    "TFLite ops the int8 model keeps in float32; unless empty, instance norm's statistics "
    "(mean, variance, per-channel scale and offset) stay float too, and everything else is "
    "int8. Empty for a strictly all-int8 model, e.g. for accelerators without float support.",
)
flags.DEFINE_integer(
    "num_threads", None, "TFLite interpreter threads for the checks (default: runtime's).",
    lower_bound=1,
)
flags.DEFINE_integer(
    "warmup_size", 256, "Side of the square images in the TF Serving warm-up requests.",
    lower_bound=8,
)

FLAGS = flags.FLAGS


def _parse_size(values):
    try:
        sides = [int(value) for value in values]
    except ValueError:
        sides = []
    if len(sides) == 1:
        sides = sides * 2
    if len(sides) != 2 or min(sides) < 16:
        raise app.UsageError(
            f"--tflite_size must be SIDE or HEIGHT,WIDTH with sides >= 16; got {','.join(values)}."
        )
    return tuple(sides)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    unknown = sorted(set(FLAGS.tflite_variants) - set(tflite.VARIANTS))
    if unknown:
        raise app.UsageError(
            f"Unknown --tflite_variants {', '.join(unknown)}; choose from {', '.join(tflite.VARIANTS)}."
        )
    if bool(FLAGS.model) == FLAGS.pretrained:
        raise app.UsageError("Give --model or --pretrained (one of them).")
    try:
        jobs = [(FLAGS.model, FLAGS.style)]
        if FLAGS.pretrained:
            jobs = _pretrained_jobs(FLAGS.style)
        for model, style in jobs:
            _export(model, style)
        if FLAGS.pretrained:
            path = saved_model.write_model_config(
                FLAGS.export_dir, [style for _, style in jobs], FLAGS.model_config_base
            )
            print(f"TF Serving model config for all of them: {path}")
    except (FileNotFoundError, FileExistsError, ValueError, UserError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:  # unwritable destination, disk full, ...
        print(f"error: cannot write the export: {e}", file=sys.stderr)
        sys.exit(1)
    except (exporter.VerificationError, tflite.ConversionError) as e:
        print(f"error: export failed, nothing was written: {e}", file=sys.stderr)
        sys.exit(1)


def _pretrained_jobs(style=None):
    """[(network path, style)] of the shipped networks (only `style` if given)."""
    from dstyle_tf import pretrained

    styles = pretrained.shipped_styles()
    if style and style not in styles:
        raise UserError(f"--style {style!r}: the shipped styles are {', '.join(styles)}.")
    return [(pretrained.network_path(s), s) for s in ([style] if style else styles)]


def _export(model, style):
    result = exporter.export_model(
        model,
        style=style,
        version=FLAGS.version,
        export_dir=FLAGS.export_dir,
        overwrite=FLAGS.overwrite,
        max_pixels=FLAGS.max_pixels,
        tflite_variants=FLAGS.tflite_variants,
        tflite_size=_parse_size(FLAGS.tflite_size),
        tflite_dynamic=FLAGS.tflite_dynamic,
        representative_images=FLAGS.representative_images,
        test_images=FLAGS.test_images,
        uint8_io=FLAGS.uint8_io,
        int8_float_ops=FLAGS.int8_float_ops,
        int8_float_blocks=FLAGS.int8_float_blocks,
        num_threads=FLAGS.num_threads,
        warmup_size=(FLAGS.warmup_size, FLAGS.warmup_size),
    )
    print(result.table)
    if result.advice:
        print(f"\n{result.advice}")
    print(f"\nExported to {result.version_dir}")


def run():
    app.run(main)


if __name__ == "__main__":
    run()
