"""Training callbacks: checkpoints that resume, TensorBoard scalars and samples."""

import json

import keras
import numpy as np
import tensorflow as tf


class NonFiniteLossError(RuntimeError):
    """A loss term became NaN or infinite; the last good checkpoint is kept."""


class CheckpointCallback(keras.callbacks.Callback):
    """Checkpoints, stops and guards the run, batch by batch.

    - Saves every `every` optimizer steps (the global step is the optimizer's
      `iterations`) and at `total`, where it stops training.
    - Stops on a non-finite loss term *before* saving, so the last checkpoint
      is always a good one; `error` then names the step and the terms.
    - When `stop_request()` returns a reason (a signal, say), saves at the
      current step and stops; `interrupted` holds the reason.

    `manager` is a `tf.train.CheckpointManager` over the transformation
    network and the optimizer.
    """

    def __init__(self, manager, every, total, stop_request=None):
        super().__init__()
        self.manager = manager
        self.every = every
        self.total = total
        self.stop_request = stop_request or (lambda: None)
        self.error = None
        self.interrupted = None
        latest = manager.latest_checkpoint
        self.saved_step = int(latest.rsplit("-", 1)[1]) if latest else None

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        bad = sorted(
            name
            for name, value in (logs or {}).items()
            if not np.all(np.isfinite(np.asarray(value, np.float64)))
        )
        if bad:
            last = self.manager.latest_checkpoint or "none"
            self.error = NonFiniteLossError(
                f"Non-finite loss at step {step} in {', '.join(bad)}; stopped "
                f"without saving. Last good checkpoint: {last}. Lower the "
                "learning rate or the offending loss weight and rerun to "
                "resume from it."
            )
            self.model.stop_training = True
            return
        reason = self.stop_request()
        if step >= self.total or step % self.every == 0 or reason:
            self.save(step)
        if reason:
            self.interrupted = reason
        if step >= self.total or reason:
            self.model.stop_training = True

    def save(self, step):
        if step != self.saved_step:
            self.manager.save(checkpoint_number=step)
            self.saved_step = step


class ScalarLogger(keras.callbacks.Callback):
    """Writes the epoch's mean losses to TensorBoard at the global step.

    Keras' TensorBoard callback counts batches from zero in every process,
    so resumed runs would overwrite earlier steps; this uses the optimizer's
    restored `iterations` instead.
    """

    def __init__(self, log_dir):
        super().__init__()
        self.writer = tf.summary.create_file_writer(log_dir)

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        with self.writer.as_default():
            for name, value in (logs or {}).items():
                tf.summary.scalar(name, value, step=step)
        self.writer.flush()


def side_by_side(content, stylized):
    """uint8 (B, H, 2W, 3) rows of content | stylized."""
    both = tf.concat([content, tf.cast(stylized, content.dtype)], axis=2)
    return tf.cast(tf.clip_by_value(tf.round(both), 0, 255), tf.uint8)


class ImageSampleCallback(keras.callbacks.Callback):
    """Writes content | stylized images to TensorBoard every `every` steps."""

    def __init__(self, log_dir, samples, every, name="samples"):
        super().__init__()
        self.writer = tf.summary.create_file_writer(log_dir)
        self.samples = tf.convert_to_tensor(np.asarray(samples, np.float32))
        self.every = every
        self.name = name
        self.written_step = None

    def write(self):
        step = int(self.model.optimizer.iterations.numpy())
        if step == self.written_step:
            return
        self.written_step = step
        # The trainer's call spreads the samples over its styles.
        stylized = self.model(self.samples, training=False)
        with self.writer.as_default():
            tf.summary.image(
                f"{self.name}/content|stylized",
                side_by_side(self.samples, stylized),
                step=step,
                max_outputs=len(self.samples),
            )
        self.writer.flush()

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step % self.every == 0:
            self.write()

    def on_train_end(self, logs=None):
        self.write()


class GradientShareLogger(keras.callbacks.Callback):
    """Logs each loss term's share of the gradient norm on f_W.

    Every `every` steps, on a fixed batch: ‖λ_i ∇_W l_i‖ for every active
    term and its share of their sum, as TensorBoard scalars
    (`grad_norm/<term>`, `grad_share/<term>`) and one JSON line per log in
    `jsonl_path` (step, terms' values, norms, shares). A term near 0% does
    nothing; one near 100% drowns the others: this is what the loss weights
    are calibrated with.
    """

    def __init__(self, log_dir, images, every, jsonl_path=None):
        super().__init__()
        self.writer = tf.summary.create_file_writer(log_dir)
        self.images = tf.convert_to_tensor(images, tf.float32)
        self.every = every
        self.jsonl_path = jsonl_path

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step % self.every:
            return
        norms = {k: float(v) for k, v in self.model.gradient_norms(self.images).items()}
        total = sum(norms.values()) or 1.0
        shares = {k: v / total for k, v in norms.items()}
        with self.writer.as_default():
            for name in norms:
                tf.summary.scalar(f"grad_norm/{name}", norms[name], step=step)
                tf.summary.scalar(f"grad_share/{name}", shares[name], step=step)
        self.writer.flush()
        if self.jsonl_path:
            values = {k: float(v) for k, v in (logs or {}).items()}
            record = {"step": step, "losses": values, "grad_norms": norms, "grad_shares": shares}
            with open(self.jsonl_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
