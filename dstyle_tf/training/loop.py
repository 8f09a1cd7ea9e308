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
from dstyle_tf.training.callbacks import CheckpointCallback
from dstyle_tf.training.callbacks import ImageSampleCallback
from dstyle_tf.training.callbacks import ScalarLogger
from dstyle_tf.training.config_validation import validate_config
from dstyle_tf.training.callbacks import GradientShareLogger
from dstyle_tf.runtime import StopSignals
from dstyle_tf.runtime import dtype_policy
from dstyle_tf.runtime import is_chief
from dstyle_tf.runtime import make_strategy
from dstyle_tf.runtime import resolve_dtype_policy
from dstyle_tf.training.networks import MODEL_FILE
from dstyle_tf.training.networks import build_trainer
from dstyle_tf.training.networks import float32_copy
from dstyle_tf.training.trainer import make_optimizer


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
