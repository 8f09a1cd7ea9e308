"""Building the networks of a training run from its config: f_W (new, from
an earlier run, or with styles added), the frozen loss networks, the
teacher, and the training model that composes them."""

import os

import keras
import tensorflow as tf

from dstyle_tf import data as data_lib
from dstyle_tf import image_io
from dstyle_tf.errors import UserError
from dstyle_tf.models.depth import DepthNetwork
from dstyle_tf.models.edges import EdgeNetwork
from dstyle_tf.models.style_bank import add_styles
from dstyle_tf.models.transform_net import TransformNet
from dstyle_tf.models.transform_net import rebuilt
from dstyle_tf.models.vgg import VGGFeatures
from dstyle_tf.styles import resolve_style_image
from dstyle_tf.styles import style_list
from dstyle_tf.styles import style_name
from dstyle_tf.training.trainer import StyleTransferTrainer

MODEL_FILE = "transform_net.keras"


def load_style_image(config, image=None):
    """A style image (default `config.image`) as float32 (H, W, 3) in [0, 255]."""
    image = image or config.image
    if image == "synthetic":
        size = config.size or 256
        return data_lib.synthetic_images(1, size, seed=1234)[0]
    # The same reader as inference: EXIF orientation, any Pillow mode.
    try:
        image = image_io.load_image(resolve_style_image(image))
    except image_io.ImageReadError as e:
        raise UserError(f"Cannot read the style image {e}") from None
    if config.size:
        h, w = image.shape[:2]
        factor = config.size / max(h, w)
        new = (max(1, round(h * factor)), max(1, round(w * factor)))
        image = tf.image.resize(image, new, antialias=True)
    return tf.clip_by_value(image, 0.0, 255.0).numpy()


def build_transform_net(config, style_names=None):
    """A new `TransformNet`; with several `style_names`, a multi-style one."""
    styles = {}
    if style_names and len(style_names) > 1:
        styles = dict(num_styles=len(style_names), style_names=list(style_names))
    return TransformNet(
        filters=config.filters,
        num_residual_blocks=config.num_residual_blocks,
        normalization=config.normalization,
        upsampling=config.upsampling,
        padding=config.padding,
        residual=config.get("residual", "standard"),
        activation_clip=config.get("activation_clip"),  # 0: unbounded
        **styles,
    )


def style_names(config):
    """The names of the styles a config trains (`style.image` may list several)."""
    images = style_list(config.image)
    if len(images) == 1:
        return [config.name]
    return [style_name(image) for image in images]


def load_init_network(path, key="init_from"):
    """The trained network `path` names (config `key`): a workdir or a `.keras` file."""
    if os.path.isdir(path):
        path = os.path.join(path, MODEL_FILE)
    if not os.path.isfile(path):
        raise UserError(
            f"{key}: no trained network at {path} (give a training workdir "
            f"holding {MODEL_FILE}, or a .keras file)."
        )
    try:
        net = keras.saving.load_model(path, compile=False)
    except Exception as e:  # a damaged or foreign file
        raise UserError(f"{key}: cannot load {path}: {e}") from None
    if not isinstance(net, TransformNet):
        raise UserError(f"{key}: {path} holds a {type(net).__name__}, not a TransformNet.")
    return net


# How a trained network is made ready for int8 export (docs/training.md): go on
# training it with its activations capped (ReLU6), distilled from itself so its
# pictures stay the same. Measured on the demo, lite and full networks: int8
# worst-case PSNR against Keras +1 to +5 dB, the style and edges unchanged.
BOUNDED_FINE_TUNE = {
    "model.activation_clip": 6.0,
    "loss.distill_weight": 1000.0,
    "train.steps": 300,
    "optimizer.learning_rate": 3e-4,
}


def _bounded_settings(steps=None):
    """`BOUNDED_FINE_TUNE`, with `steps` instead of its steps if given."""
    return dict(BOUNDED_FINE_TUNE, **({"train.steps": steps} if steps else {}))


def bounded_fine_tune(config, network, steps=None):
    """A copy of `config` that fine-tunes the trained `network` (a .keras
    file) with `BOUNDED_FINE_TUNE` (`steps` instead of its steps, if given):
    `network` is also the distillation teacher."""
    config = config.copy_and_resolve_references()
    config.fine_tune = config.distill.teacher = network
    config.update_from_flattened_dict(_bounded_settings(steps))
    return config


def bounded_fine_tune_flags(network, steps=None):
    """`bounded_fine_tune`'s changes as `python -m dstyle_tf.train` flags."""
    return [f"--config.fine_tune={network}", f"--config.distill.teacher={network}",
            *(f"--config.{key}={value:g}" for key, value in _bounded_settings(steps).items())]


def with_activation_clip(net, activation_clip):
    """`net`, or a copy with the same weights and its activations bounded at
    `activation_clip` (`TransformNet`'s argument; 0 or None keeps `net`)."""
    if not activation_clip or net.activation_clip == activation_clip:
        return net
    return rebuilt(net, activation_clip=activation_clip)


def initial_network(config):
    """(f_W, its style index of each style the config trains).

    Without `init_from` or `fine_tune`, a new network holding the config's
    styles. With `init_from`, the trained network there with the config's
    styles added after its own (its architecture, not `config.model`'s, is
    used). With `fine_tune`, the trained network there, whose styles the
    config goes on training (as many as it holds), its activations bounded
    if `model.activation_clip` is set: how a trained network is made ready
    for int8 export.
    """
    names = style_names(config.style)
    if config.get("fine_tune"):
        if config.get("init_from"):
            raise UserError("Give init_from (add styles) or fine_tune (train on), not both.")
        net = load_init_network(config.fine_tune, "fine_tune")
        if net.num_styles != len(names):
            raise UserError(
                f"fine_tune: {config.fine_tune} holds {net.num_styles} style(s) "
                f"({', '.join(net.style_names)}); the config trains {len(names)}."
            )
        return with_activation_clip(net, config.model.get("activation_clip", 0.0)), None
    if not config.get("init_from"):
        return build_transform_net(config.model, names), None
    base = load_init_network(config.init_from)
    try:
        net = add_styles(base, names)
    except ValueError as e:
        raise UserError(f"init_from: {e}") from None
    return net, list(range(base.num_styles, net.num_styles))


def build_vgg(config):
    weights = None if config.weights == "random" else config.weights
    layers = list(dict.fromkeys([config.content_layer, *config.style_layers]))
    return VGGFeatures(weights_source=weights, taps=layers)


def build_depth_net(config):
    preset = None if config.preset == "random" else config.preset
    return DepthNetwork(
        backend=config.backend,
        preset=preset,
        model_path=config.model_path or None,
        input_size=config.input_size,
        scale=config.scale,
    )


def build_edge_net(config):
    return EdgeNetwork(
        backend=config.backend,
        weights_source=config.weights,
        sigma=config.get("sigma", 1.5),
        quantile=config.get("quantile", 0.85),
        ratio=config.get("ratio", 1.5),
    )


def load_teacher(config):
    """The teacher of `distill.teacher` (a training workdir or .keras file)
    when `loss.distill_weight` > 0, else None."""
    weight = config.loss.get("distill_weight", 0.0)
    if not isinstance(weight, (int, float)) or weight < 0:
        raise UserError(f"loss.distill_weight must be a number >= 0; got {weight!r}.")
    if not weight:
        return None
    path = os.path.expanduser(config.get("distill", {}).get("teacher", ""))
    if not path:
        raise UserError(
            "loss.distill_weight > 0 needs distill.teacher: a training workdir or .keras file."
        )
    from dstyle_tf.stylization import stylizers

    try:
        stylizer = stylizers.load_stylizer(path)
    except stylizers.ModelLoadError as e:
        raise UserError(f"distill.teacher: {str(e).splitlines()[0]}") from None
    teacher = getattr(stylizer, "model", None)
    if not isinstance(teacher, TransformNet) or teacher.num_styles != 1:
        raise UserError(
            f"distill.teacher {path}: expected a single-style TransformNet (a training "
            "workdir or .keras file)."
        )
    return teacher


def build_trainer(config):
    """The trainer with f_W and the frozen loss networks, built from config."""
    teacher_net = load_teacher(config)  # First: a bad path fails before the loss networks load.
    depth_net = build_depth_net(config.depth) if config.loss.depth_weight else None
    edge_net = build_edge_net(config.edge) if config.loss.edge_weight else None
    transform_net, style_indices = initial_network(config)
    return StyleTransferTrainer(
        transform_net=transform_net,
        vgg=build_vgg(config.vgg),
        style_images=[load_style_image(config.style, image) for image in style_list(config.style.image)],
        style_indices=style_indices,
        style_mode=config.train.get("style_mode", "split"),
        train_only_styles=config.train.get("train_only_new_styles", False),
        depth_net=depth_net,
        edge_net=edge_net,
        content_weight=config.loss.content_weight,
        style_weight=config.loss.style_weight,
        depth_weight=config.loss.depth_weight,
        edge_weight=config.loss.edge_weight,
        stability_weight=config.loss.stability_weight,
        stability_shift=config.stability.max_shift,
        stability_noise=config.stability.noise_std,
        tv_weight=config.loss.tv_weight,
        content_layer=config.vgg.content_layer,
        style_layers=config.vgg.style_layers,
        teacher_net=teacher_net,
        distill_weight=config.loss.get("distill_weight", 0.0),
    )


def float32_copy(net):
    """The same network with a float32 policy (for saving and export)."""
    return rebuilt(net, dtype="float32")
