"""Where and how training runs: precision, devices, and stop signals."""

import contextlib
import signal
import threading

import keras
import tensorflow as tf
from absl import logging

from dstyle_tf.errors import UserError


def resolve_dtype_policy(name):
    """`auto` → mixed_float16 with a GPU, float32 without."""
    if name == "auto":
        has_gpu = bool(tf.config.list_physical_devices("GPU"))
        return "mixed_float16" if has_gpu else "float32"
    return name


@contextlib.contextmanager
def dtype_policy(name):
    """Sets the global Keras dtype policy for the block, then restores it."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


class StopSignals:
    """Turns SIGINT/SIGTERM into a request to checkpoint and stop cleanly.

    A second signal of the same kind while stopping gets the default
    behaviour (Ctrl-C twice aborts at once).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.received = None
        self._previous = {}

    def _handle(self, signum, frame):
        if self.received:
            signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))
            signal.raise_signal(signum)
        self.received = signal.Signals(signum).name
        logging.warning("%s received: saving a checkpoint and stopping.", self.received)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def make_strategy(name):
    """The tf.distribute strategy named in `train.distribute`."""
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise UserError(f"Unknown train.distribute {name!r}.")


def is_chief(strategy):
    """True except on non-chief workers of a multi-worker run."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type in (None, "chief") or (
        resolver.task_type == "worker"
        and resolver.task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict()
    )
