"""The training job: config → data → trainer.fit → artefacts in a workdir.

Workdir layout:
    checkpoints/       tf.train checkpoints of f_W and the optimizer (resume;
                       layout in `dstyle_tf.checkpoints`)
    tensorboard/       scalars (train/) and content | stylized samples
    config.json        the resolved config
    final_losses.json  the last logged loss terms
    transform_net.keras  the trained network (float32), written at the end
"""

import dataclasses
import json
import math
import os
import sys

import keras
import tensorflow as tf
from absl import logging

from dstyle_tf import atomic
from dstyle_tf import checkpoints
from dstyle_tf import data as data_lib
from dstyle_tf import image_io
from dstyle_tf.callbacks import CheckpointCallback
from dstyle_tf.callbacks import ImageSampleCallback
from dstyle_tf.callbacks import ScalarLogger
from dstyle_tf.config_validation import validate_config
from dstyle_tf.errors import UserError
from dstyle_tf.callbacks import GradientShareLogger
from dstyle_tf.models.depth import DepthNetwork
from dstyle_tf.models.edges import EdgeNetwork
from dstyle_tf.models.transform_net import TransformNet
from dstyle_tf.models.vgg import VGGFeatures
from dstyle_tf.runtime import StopSignals
from dstyle_tf.models.style_bank import add_styles
from dstyle_tf.styles import resolve_style_image
from dstyle_tf.styles import style_list
from dstyle_tf.styles import style_name
from dstyle_tf.runtime import dtype_policy
from dstyle_tf.runtime import is_chief
from dstyle_tf.runtime import make_strategy
from dstyle_tf.runtime import resolve_dtype_policy
from dstyle_tf.trainer import StyleTransferTrainer
from dstyle_tf.trainer import make_optimizer

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
        **styles,
    )


def style_names(config):
    """The names of the styles a config trains (`style.image` may list several)."""
    images = style_list(config.image)
    if len(images) == 1:
        return [config.name]
    return [style_name(image) for image in images]


def load_init_network(path):
    """The trained network `init_from` names: a workdir or a `.keras` file."""
    if os.path.isdir(path):
        path = os.path.join(path, MODEL_FILE)
    if not os.path.isfile(path):
        raise UserError(
            f"init_from: no trained network at {path} (give a training workdir "
            f"holding {MODEL_FILE}, or a .keras file)."
        )
    try:
        net = keras.saving.load_model(path, compile=False)
    except Exception as e:  # a damaged or foreign file
        raise UserError(f"init_from: cannot load {path}: {e}") from None
    if not isinstance(net, TransformNet):
        raise UserError(f"init_from: {path} holds a {type(net).__name__}, not a TransformNet.")
    return net


def initial_network(config):
    """(f_W, its style index of each style the config trains).

    Without `init_from`, a new network holding the config's styles. With
    `init_from`, the trained network there with the config's styles added
    after its own (its architecture, not `config.model`'s, is used).
    """
    names = style_names(config.style)
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
    return EdgeNetwork(backend=config.backend, weights_source=config.weights)


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
    from dstyle_tf import stylizers

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
    copy = TransformNet.from_config({**net.get_config(), "dtype": "float32"})
    copy.build()
    copy.set_weights(net.get_weights())
    return copy


@dataclasses.dataclass
class TrainResult:
    """What a call to `train` achieved."""

    losses: dict
    step: int
    interrupted: str | None = None  # the signal's name, if stopped by one


def restore_latest(checkpoint, manager, trainer):
    """Restores the newest readable checkpoint; returns its path or None.

    A damaged newest checkpoint (a disk error, a copy cut short) is skipped
    with a warning and the one before it is used.
    """
    for path in reversed(manager.checkpoints):
        try:
            checkpoints.restore(checkpoint, path, trainer.transform_net, trainer.optimizer)
        except Exception as e:  # OpError, IndexError, AssertionError, ...
            logging.warning("Skipping unreadable checkpoint %s: %s", path, e)
            continue
        logging.info("Resumed from %s", path)
        return path
    return None


def checkpoint_dirs(workdir, strategy, chief):
    """(where checkpoints are restored from, where this worker saves them).

    Every worker restores from the chief's checkpoints (a shared file
    system); saving is collective, so the others write theirs aside.
    """
    ckpt_dir = os.path.join(workdir, checkpoints.SUBDIR)
    if chief:
        return ckpt_dir, ckpt_dir
    return ckpt_dir, os.path.join(workdir, "tmp_worker", str(strategy.cluster_resolver.task_id))


def compiled_trainer(config, policy, strategy, workdir, chief):
    """The compiled trainer and its checkpoint manager, restored to the
    newest readable checkpoint (built under the strategy's scope)."""
    ckpt_dir, save_dir = checkpoint_dirs(workdir, strategy, chief)
    with strategy.scope():
        trainer = build_trainer(config)
        trainer.compile(
            optimizer=make_optimizer(config.optimizer.learning_rate, policy),
            jit_compile=config.train.jit_compile,
        )
        checkpoint = checkpoints.training_checkpoint(trainer.transform_net, trainer.optimizer)
        manager = tf.train.CheckpointManager(
            checkpoint, save_dir, max_to_keep=config.train.keep_checkpoints
        )
        restore_latest(
            checkpoint,
            manager if chief else tf.train.CheckpointManager(checkpoint, ckpt_dir, None),
            trainer,
        )
    return trainer, manager


def logging_callbacks(config, workdir, samples):
    """The chief's TensorBoard scalars, image samples and gradient shares."""
    train_dir = os.path.join(workdir, "tensorboard", "train")
    callbacks = [
        ScalarLogger(train_dir),
        ImageSampleCallback(
            os.path.join(workdir, "tensorboard", "samples"), samples, config.train.sample_every
        ),
    ]
    if config.train.gradient_share_every:
        callbacks.append(
            GradientShareLogger(
                train_dir, samples, config.train.gradient_share_every,
                os.path.join(workdir, "gradient_shares.jsonl"),
            )
        )
    return callbacks


def fit_until_done(trainer, dataset, config, callbacks, guard):
    """Runs `fit` epoch after epoch up to `train.steps` or an interruption.

    Returns:
        (the last epoch's logs, {} if nothing ran; the global step).
    """
    step = int(trainer.optimizer.iterations.numpy())
    total, per_epoch = config.train.steps, config.train.log_every
    logs = {}
    while step < total and not guard.interrupted:
        history = trainer.fit(
            dataset,
            epochs=math.ceil(total / per_epoch),
            initial_epoch=step // per_epoch,
            steps_per_epoch=per_epoch,
            callbacks=callbacks,
            shuffle=False,  # The dataset is shuffled with the seed.
            # A live progress bar on a terminal, a line per epoch in logs.
            verbose=1 if sys.stdout.isatty() else 2,
        )
        if guard.error:
            raise guard.error
        logs = {k: float(v[-1]) for k, v in history.history.items()}
        new_step = int(trainer.optimizer.iterations.numpy())
        if new_step == step and not guard.interrupted:
            raise RuntimeError("Training made no progress.")
        step = new_step
    return logs, step


def train(config, workdir):
    """Trains (or resumes) one style and writes the artefacts into `workdir`.

    Running it again with the same workdir resumes from the last checkpoint.
    SIGINT/SIGTERM save a checkpoint and return early (`interrupted` set);
    a non-finite loss raises `NonFiniteLossError` without saving.

    Returns:
        a `TrainResult`.
    """
    validate_config(config)
    os.makedirs(workdir, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    policy = resolve_dtype_policy(config.train.mixed_precision)
    strategy = make_strategy(config.train.distribute)
    chief = is_chief(strategy)
    logging.info("dtype policy %s, %d replica(s)", policy, strategy.num_replicas_in_sync)
    if chief:
        atomic.write_json(os.path.join(workdir, "config.json"), json.loads(config.to_json_best_effort()))

    with dtype_policy(policy), StopSignals() as stop:
        skipped = data_lib.SkippedFiles()
        dataset = data_lib.make_dataset(config.data, seed=config.seed, skipped=skipped)
        trainer, manager = compiled_trainer(config, policy, strategy, workdir, chief)
        samples = next(iter(dataset.take(1)))[: config.train.num_samples]
        guard = CheckpointCallback(
            manager, config.train.checkpoint_every, config.train.steps, lambda: stop.received
        )
        callbacks = [guard, *(logging_callbacks(config, workdir, samples) if chief else [])]
        logs, step = fit_until_done(trainer, dataset, config, callbacks, guard)

        report_skipped(skipped, workdir if chief else None)
        if guard.interrupted:
            return TrainResult(logs, step, guard.interrupted)
        if not logs:  # finished before this call: keep what it recorded
            recorded = read_final_losses(workdir)
            if recorded is not None and os.path.isfile(os.path.join(workdir, MODEL_FILE)):
                return TrainResult(recorded, step)
            logs = evaluate_losses(trainer, dataset)
        net_f32 = float32_copy(trainer.transform_net)

    if chief:
        atomic.write_json(os.path.join(workdir, "final_losses.json"), {**logs, "step": step})
        atomic.save_keras(net_f32, os.path.join(workdir, MODEL_FILE))
    return TrainResult(logs, step)


def report_skipped(skipped, workdir=None):
    """Logs the unreadable training images and lists them in the workdir."""
    if not len(skipped):
        return
    logging.warning(
        "Skipped %d unreadable image file(s):\n%s", len(skipped), skipped.summary()
    )
    if workdir:
        lines = [f"{path}\t{reason}" for path, reason in sorted(skipped.reasons.items())]
        atomic.write_text(os.path.join(workdir, "skipped_images.txt"), "\n".join(lines) + "\n")


def read_final_losses(workdir):
    """The loss terms `final_losses.json` recorded, or None."""
    try:
        with open(os.path.join(workdir, "final_losses.json"), encoding="utf-8") as f:
            recorded = json.load(f)
    except (OSError, ValueError):
        return None
    recorded.pop("step", None)
    return recorded


def evaluate_losses(trainer, dataset, steps=1):
    """Loss terms of the current network on `steps` batches."""
    results = trainer.evaluate(dataset, steps=steps, verbose=0, return_dict=True)
    return {k: float(v) for k, v in results.items()}
