"""Training callbacks: checkpoints that resume, and TensorBoard image samples."""

import keras
import numpy as np
import tensorflow as tf


class CheckpointCallback(keras.callbacks.Callback):
    """Saves a checkpoint every `every` optimizer steps and stops at `total`.

    `manager` is a `tf.train.CheckpointManager` over the transformation
    network and the optimizer (whose `iterations` is the global step).
    """

    def __init__(self, manager, every, total):
        super().__init__()
        self.manager = manager
        self.every = every
        self.total = total
        latest = manager.latest_checkpoint
        self.saved_step = int(latest.rsplit("-", 1)[1]) if latest else None

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step >= self.total or step % self.every == 0:
            self.save(step)
        if step >= self.total:
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
    """uint8 (B, H, 2W, 3) rows of content | stylised."""
    both = tf.concat([content, tf.cast(stylized, content.dtype)], axis=2)
    return tf.cast(tf.clip_by_value(tf.round(both), 0, 255), tf.uint8)


class ImageSampleCallback(keras.callbacks.Callback):
    """Writes content | stylised images to TensorBoard every `every` steps."""

    def __init__(self, log_dir, samples, every, name="samples"):
        super().__init__()
        self.writer = tf.summary.create_file_writer(log_dir)
        self.samples = tf.convert_to_tensor(np.asarray(samples, np.float32))
        self.every = every
        self.name = name

    def write(self):
        step = int(self.model.optimizer.iterations.numpy())
        stylized = self.model.transform_net(self.samples, training=False)
        with self.writer.as_default():
            tf.summary.image(
                f"{self.name}/content|stylised",
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
