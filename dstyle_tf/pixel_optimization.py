r"""Gatys-style style transfer: optimise the pixels of one image.

Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural
Networks", CVPR 2016 — the slow baseline of Liu et al. 2017, with or without
their depth loss. The objective is exactly the training objective of the fast
networks (`StyleTransferTrainer.compute_losses`, same reductions and weights),
but minimised over the pixels of a single image instead of over network
weights:

    x* = argmin_x λc·l_content(x, photo) + λs·l_style(x, style)
                  + λd·l_depth(x, photo) + λtv·l_tv(x)

`optimize_image(content, style, vgg, depth_net=None, ...)` works on arrays;
`optimize_file(OptimizeConfig(...))` is the whole `python -m
dstyle_tf.optimize` command (read the images, build the loss networks,
optimise, write the result).
"""

import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from dstyle_tf import image_io
from dstyle_tf.errors import UserError
from dstyle_tf.errors import check_choice
from dstyle_tf.models.vgg import CONTENT_LAYER
from dstyle_tf.models.vgg import STYLE_LAYERS
from dstyle_tf.training.trainer import StyleTransferTrainer

INITS = ("content", "noise")


class PixelImage(keras.Model):
    """The image being optimised, as a Keras model: `call` returns its pixels.

    Plays the part of the transformation network f_W in the trainer, so the
    trainer's loss composition is reused unchanged; the only trainable
    variable is the image (1, H, W, 3), kept in [0, 255] by a constraint that
    the optimizer applies after every update.
    """

    def __init__(self, initial, **kwargs):
        super().__init__(**kwargs)
        initial = np.asarray(initial, np.float32)
        self.pixels = self.add_weight(
            shape=(1, *initial.shape),
            initializer=keras.initializers.Constant(initial[None]),
            constraint=lambda x: keras.ops.clip(x, 0.0, 255.0),
            name="pixels",
        )

    def build(self, input_shape=None):
        self.built = True

    def call(self, images, training=False):
        del images, training  # The output does not depend on the input.
        return self.pixels


def initial_image(content, init="content", seed=0):
    """Starting point: the photo itself (fast, usual) or uniform noise (Gatys)."""
    check_choice("init", init, INITS)
    if init == "noise":
        return np.random.default_rng(seed).uniform(0, 255, np.shape(content)).astype(np.float32)
    return np.asarray(content, np.float32)


def optimize_image(
    content,
    style,
    vgg,
    depth_net=None,
    *,
    content_weight=1.0,
    style_weight=5.0,
    depth_weight=0.0,
    tv_weight=1e-6,
    edge_net=None,
    edge_weight=0.0,
    steps=200,
    learning_rate=5.0,
    init="content",
    seed=0,
    content_layer=CONTENT_LAYER,
    style_layers=STYLE_LAYERS,
    on_step=None,
):
    """Optimises the pixels of one image towards the style, keeping the content.

    Adam on the raw pixels (0–255 scale, so the learning rate is in grey
    levels per step), clipped to [0, 255] after each step.

    Args:
        content: the photo, RGB (H, W, 3) in [0, 255].
        style: the style image, RGB (h, w, 3) in [0, 255].
        vgg: a `VGGFeatures` with the content and style layers.
        depth_net: a `DepthNetwork` (needed when depth_weight > 0).
        content_weight, style_weight, depth_weight, tv_weight: λc, λs, λd,
            λtv, as in the training configs (λd = 0: plain Gatys et al.).
        edge_net, edge_weight: an `EdgeNetwork` and λe (edge-structure term).
        steps: Adam steps.
        learning_rate: Adam learning rate.
        init: `"content"` (start from the photo) or `"noise"`.
        seed: for the noise initialisation.
        content_layer, style_layers: VGG taps of the losses.
        on_step: optional callback(step, terms) with float loss terms.

    Returns:
        (image, history): float32 (H, W, 3) in [0, 255], and a list with the
        loss terms (dict of floats: loss, content_loss, style_loss,
        depth_loss, tv_loss) before each step and after the last one.
    """
    content = np.asarray(content, np.float32)
    if content.ndim != 3 or content.shape[-1] != 3:
        raise ValueError(f"content must be RGB (H, W, 3); got shape {content.shape}.")
    image = PixelImage(initial_image(content, init, seed))
    objective = StyleTransferTrainer(
        transform_net=image,
        vgg=vgg,
        style_image=style,
        depth_net=depth_net if depth_weight else None,
        content_weight=content_weight,
        style_weight=style_weight,
        depth_weight=depth_weight,
        edge_net=edge_net if edge_weight else None,
        edge_weight=edge_weight,
        tv_weight=tv_weight,
        content_layer=content_layer,
        style_layers=style_layers,
    )
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    optimizer.build([image.pixels])
    photo = tf.constant(content[None])
    # The photo is fixed: its VGG, depth and edge targets are computed once.
    targets = objective.content_targets(photo)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            terms = objective.compute_losses(photo, image(photo), targets)
        gradient = tape.gradient(terms["loss"], image.pixels)
        optimizer.apply([gradient], [image.pixels])
        return terms

    history = []
    for index in range(steps + 1):
        # The last entry measures the final image (eagerly: traced only once).
        terms = step() if index < steps else objective.compute_losses(photo, image(photo), targets)
        terms = {name: float(value) for name, value in terms.items()}
        history.append(terms)
        if on_step is not None:
            on_step(index, terms)
    return np.asarray(image.pixels)[0], history


def network_config(values):
    """The `vgg`, `depth` and `edge` config sections from flag values (or any object
    with those attributes, e.g. an `OptimizeConfig`)."""
    import ml_collections

    from configs.common import get_base_config

    config = get_base_config()
    config.vgg.weights = values.vgg_weights
    config.depth.backend = values.depth_backend
    config.depth.preset = values.depth_preset
    config.depth.model_path = values.depth_model_path
    config.depth.input_size = values.depth_input_size
    config.edge.backend = values.edge_backend
    config.edge.weights = values.edge_weights
    return ml_collections.ConfigDict(
        {"vgg": config.vgg, "depth": config.depth, "edge": config.edge}
    )


def load_style(path, size):
    """The style image, longer side `size` (0 keeps it), as training loads it."""
    import ml_collections

    from dstyle_tf.training import load_style_image

    return load_style_image(ml_collections.ConfigDict({"image": path, "size": size}))


@dataclasses.dataclass
class OptimizeConfig:
    """What `python -m dstyle_tf.optimize` does; each field is the flag of
    the same name (see `--helpfull`). Defaults: the paper's weights without
    depth (plain Gatys et al.), 300 steps at 512 pixels."""

    content: str
    style: str
    output: str
    max_size: int = 512
    style_size: int = 256
    steps: int = 300
    learning_rate: float = 5.0
    init: str = "content"
    seed: int = 0
    content_weight: float = 1.0
    style_weight: float = 5.0
    depth_weight: float = 0.0
    tv_weight: float = 1e-6
    edge_weight: float = 0.0
    vgg_weights: str = "imagenet"
    depth_backend: str = "depth_anything"
    depth_preset: str = "depth_anything_v2_small"
    depth_model_path: str = ""
    depth_input_size: int = 224
    edge_backend: str = "hed"
    edge_weights: str = "hed"


def optimize_file(config, log_every=25):
    """Optimises `config.content` towards `config.style`, writes `config.output`.

    Args:
        config: an `OptimizeConfig`.
        log_every: log the loss terms every this many steps.

    Returns:
        the loss history of `optimize_image`.

    Raises:
        UserError: for an unwritable output type, unreadable images or loss
            networks that cannot be built.
    """
    from dstyle_tf.training import build_depth_net
    from dstyle_tf.training import build_edge_net
    from dstyle_tf.training import build_vgg

    if os.path.splitext(config.output)[1].lower() not in image_io.SAVE_FORMATS:
        raise UserError(
            f"--output {config.output}: use a {', '.join(sorted(image_io.SAVE_FORMATS))} file."
        )
    try:
        content = image_io.load_image(config.content, max_size=config.max_size or None)
    except image_io.ImageReadError as e:
        raise UserError(str(e)) from None
    style = load_style(config.style, config.style_size)
    networks = network_config(config)
    vgg = build_vgg(networks.vgg)
    depth_net = build_depth_net(networks.depth) if config.depth_weight else None
    edge_net = build_edge_net(networks.edge) if config.edge_weight else None

    def log(index, terms):
        if index % log_every == 0 or index == config.steps:
            logging.info("step %d: %s", index, ", ".join(f"{k}={v:.4g}" for k, v in terms.items()))

    image, history = optimize_image(
        content, style, vgg, depth_net,
        content_weight=config.content_weight,
        style_weight=config.style_weight,
        depth_weight=config.depth_weight,
        tv_weight=config.tv_weight,
        edge_net=edge_net,
        edge_weight=config.edge_weight,
        steps=config.steps,
        learning_rate=config.learning_rate,
        init=config.init,
        seed=config.seed,
        on_step=log,
    )
    image_io.save_image(config.output, image)
    return history
