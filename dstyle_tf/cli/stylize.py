r"""Stylise photos and videos with the shipped network or a trained or exported one.

    python -m dstyle_tf.stylize --style=starry_night --input=photo.jpg --output=out.png
    python -m dstyle_tf.stylize --list_styles
    python -m dstyle_tf.stylize --model=saved_models/wave/1 \
        --input='photos/*.jpg' --output=stylized/ [--max_size=1024] [--preserve_color]
    python -m dstyle_tf.stylize --model=runs/wave --input=clip.mp4 --output=out.mp4 [--smooth=0.5]

Video files (.mp4, .mov, .mkv, .webm, .avi) are stylised frame by frame
(`dstyle_tf.video`, PyAV) keeping the frame rate, size and audio track.

Without `--model` the network that ships with the package is used
(`dstyle_tf.pretrained`: starry_night, wave, the_scream, composition_vii).
A multi-style model (the shipped one too) needs `--style=NAME|INDEX`, `--style_weights=a:0.5,b:0.5`
(a blend) or `--sheet` (every style of the model on one contact sheet per
photo); `--strength` fades any model's result towards the photo.

`--model` is a `.keras` file, a training workdir (with `transform_net.keras`),
a SavedModel directory (or a TF Serving model directory: the highest version is
used) or a `.tflite` file. Outputs keep the input's (upright) size unless
`--max_size` downscales; large images are processed in overlapping tiles.
The work is done by `dstyle_tf.stylization` (`stylize_paths(StylizeConfig)`);
`load_stylizer`, `stylize_image` and `stylize_files` are importable from
`dstyle_tf.stylize` too.
"""

import sys

from absl import app
from absl import flags

from dstyle_tf import cli
from dstyle_tf.stylization import StylizeConfig
from dstyle_tf.stylization import stylize_paths

_DEFAULTS = StylizeConfig(model=None, input=None, output=None)


def define_flags():
    """Command-line flags of `python -m dstyle_tf.stylize`."""
    flags.DEFINE_string(
        "model", None,
        "Model to run: a .keras file, a training workdir containing "
        "transform_net.keras, a SavedModel directory (or a TF Serving model "
        "directory with numbered versions: the highest is used), or a .tflite file. "
        "Default: the network shipped with the package (--list_styles).",
    )
    flags.DEFINE_string(
        "input", None,
        "Image or video file (.mp4, .mov, .mkv, .webm, .avi), directory (all "
        "its non-hidden files, e.g. the frames of a clip) or quoted glob "
        "pattern such as 'photos/*.jpg'. Required unless --list_styles.",
    )
    flags.DEFINE_string(
        "output", None,
        "Output file (.png/.jpg/.jpeg, or a video extension for a video; single "
        "input only) or directory; outputs are named after their inputs. "
        "Required unless --list_styles.",
    )
    flags.DEFINE_bool(
        "list_styles", False,
        "Print the styles of the shipped network with their provenance and exit.",
    )
    flags.DEFINE_integer(
        "max_size", _DEFAULTS.max_size,
        "If > 0, downscale inputs so the longer side is at most this many "
        "pixels (the output has the downscaled size). 0 keeps the original size.",
        lower_bound=0,
    )
    flags.DEFINE_integer(
        "tile_size", _DEFAULTS.tile_size,
        "Process images with a side larger than this in tiles of this size, "
        "to bound memory. 0 disables tiling. Fixed-size .tflite models always "
        "use tiles of their input size.",
        lower_bound=0,
    )
    flags.DEFINE_integer(
        "tile_overlap", _DEFAULTS.tile_overlap,
        "Pixels by which neighbouring tiles overlap and are cross-faded.",
        lower_bound=0,
    )
    flags.DEFINE_integer(
        "tile_context", _DEFAULTS.tile_context,
        "Extra pixels of surrounding image fed to the network with each tile "
        "(then cropped), so tiles see their neighbourhood. Default: the "
        "network's receptive field (60 for the paper's), which makes tiles "
        "agree with a one-pass run.",
        lower_bound=0,
    )
    flags.DEFINE_enum(
        "tile_statistics", _DEFAULTS.tile_statistics, ["exact", "preview", "tile"],
        "Instance-norm statistics for tiled .keras models: 'exact' (the whole "
        "image's, measured tile by tile first; matches a one-pass run, ~7x "
        "slower), 'preview' (from a copy downscaled to 1024 pixels) or 'tile' "
        "(each tile its own; fastest, may show bands).",
    )
    flags.DEFINE_bool(
        "preserve_color", _DEFAULTS.preserve_color,
        "Keep the photo's colours: transfer only the style's luminance (YIQ).",
    )
    flags.DEFINE_bool(
        "overwrite", _DEFAULTS.overwrite, "Allow an output to replace an input file.",
    )
    flags.DEFINE_integer(
        "jpeg_quality", _DEFAULTS.jpeg_quality, "JPEG quality for .jpg outputs.",
        lower_bound=1, upper_bound=100,
    )
    flags.DEFINE_float(
        "smooth", _DEFAULTS.smooth,
        "Temporal smoothing for videos and folders of frames: each output is "
        "blended with the previous one, out = (1 - a) * stylised + a * previous "
        "(0: off). Damps flicker of networks trained without a stability term, "
        "but blurs motion: moving things trail for about 1 / (1 - a) frames.",
        lower_bound=0.0, upper_bound=0.99,
    )
    flags.DEFINE_integer(
        "num_threads", _DEFAULTS.num_threads,
        "Threads for the TFLite interpreter (0: runtime default).",
        lower_bound=0,
    )
    flags.DEFINE_string(
        "style", _DEFAULTS.style,
        "For a multi-style model: the style to apply, by name or 0-based index "
        "(the error message for a wrong one lists the model's styles).",
    )
    flags.DEFINE_string(
        "style_weights", _DEFAULTS.style_weights,
        "For a multi-style model: a blend of styles as name:weight pairs, e.g. "
        "'wave:0.5,scream:0.5' (names or indices; non-negative weights, divided "
        "by their sum; styles not listed weigh 0).",
    )
    flags.DEFINE_float(
        "strength", _DEFAULTS.strength,
        "Between 0 and 1: output = (1 - strength)·photo + strength·stylized, per "
        "pixel (0: the photo, 1: the full style). Works for every model.",
    )
    flags.DEFINE_bool(
        "sheet", _DEFAULTS.sheet,
        "Write, for each input, a contact sheet of the photo and its stylisation "
        "in every style of the model (instead of one stylised image).",
    )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    if flags.FLAGS.list_styles:
        from dstyle_tf import pretrained

        print("\n".join(cli.call(pretrained.describe)))
        return
    missing = [f"--{name}" for name in ("input", "output") if not getattr(flags.FLAGS, name)]
    if missing:
        raise app.UsageError(f"{' and '.join(missing)} required (or --list_styles).")
    config = cli.config_from_flags(StylizeConfig, flags.FLAGS)
    stylizer = None
    if not config.model:
        from dstyle_tf import pretrained

        stylizer = cli.call(pretrained.load_stylizer, num_threads=config.num_threads or None)
    result = cli.call(stylize_paths, config, stylizer=stylizer)
    total, failures = len(result.pairs), result.failures
    print(f"Stylized {total - len(failures)} of {total} file(s).", file=sys.stderr)
    if failures:
        print(f"{len(failures)} failed:", file=sys.stderr)
        for _, message in failures:
            print(f"  {message}", file=sys.stderr)
        sys.exit(1)


def run():
    """Entry point of `python -m dstyle_tf.stylize` and its console script."""
    cli.run_command(sys.modules[__name__])
