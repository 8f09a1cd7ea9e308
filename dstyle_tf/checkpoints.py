"""Training checkpoints: what they hold, restoring them, reading a network back.

A checkpoint holds
    transform_net/<variable path>   every variable of f_W, trainable or not
                                    (batch-norm moving statistics too), keyed
                                    by its path inside the network
    transform_net_config            f_W's `get_config()` as JSON, so the
                                    network can be rebuilt from it alone
    optimizer/...                   the optimizer state (and global step)

Keras 3 models are not TensorFlow trackables that list their variables, so
`tf.train.Checkpoint(transform_net=model)` saves none of them; Keras
variables themselves are trackable, hence the explicit dictionary.
Checkpoints written before this layout (optimizer only) still restore.
"""

import json
import os

import tensorflow as tf
from absl import logging

from dstyle_tf.errors import UserError
from dstyle_tf.models.transform_net import TransformNet

SUBDIR = "checkpoints"  # inside a training workdir
_CONFIG_KEY = "transform_net_config/.ATTRIBUTES/VALUE"


class _SavedString(tf.__internal__.tracking.Trackable):
    """A string written into checkpoints and never restored from them.

    Not a string `tf.Variable`: under a multi-worker strategy its initial
    value would be broadcast, which collectives refuse for strings.
    """

    def __init__(self, value):
        self.value = value

    def _serialize_to_tensors(self):
        return {"VALUE": tf.constant(self.value)}

    def _restore_from_tensors(self, restored_tensors):
        return tf.no_op()


def network_variables(net):
    """Every variable of `net` by its path inside the network.

    The network's own name is left out: Keras numbers it per process
    (`transform_net_1`), which must not change what a checkpoint matches.
    """
    prefix = net.name + "/"
    variables = {v.path.removeprefix(prefix): v for v in net.weights}
    if len(variables) != len(net.weights):
        raise ValueError(f"{net.name}: variable paths are not unique.")
    return variables


def training_checkpoint(net, optimizer=None):
    """A `tf.train.Checkpoint` of f_W (all variables, its config) and the optimizer."""
    objects = dict(
        transform_net=network_variables(net),
        transform_net_config=_SavedString(json.dumps(net.get_config())),
    )
    if optimizer is not None:
        objects["optimizer"] = optimizer
    return tf.train.Checkpoint(**objects)


def holds_network(path):
    """Whether the checkpoint at `path` has this module's layout (else: an older one)."""
    return tf.train.load_checkpoint(path).has_tensor(_CONFIG_KEY)


def restore(checkpoint, path, net, optimizer):
    """Restores `checkpoint` (from `training_checkpoint(net, optimizer)`) from `path`.

    An older checkpoint (optimizer only) is restored as it was written: the
    trainable variables come back through the optimizer's, non-trainable
    ones (batch-norm statistics) keep their initial values.

    Raises:
        an error if the file is unreadable or does not match the objects.
    """
    if not holds_network(path):
        logging.warning(
            "%s predates checkpoints that hold the whole network: restoring f_W "
            "through the optimizer; non-trainable variables (batch-norm "
            "statistics) start afresh.", path,
        )
        checkpoint = tf.train.Checkpoint(transform_net=net, optimizer=optimizer)
    checkpoint.restore(path).assert_existing_objects_matched()


def checkpoint_path(workdir, step=None):
    """The checkpoint of `step` (default: the newest) in a training workdir."""
    state = tf.train.get_checkpoint_state(os.path.join(workdir, SUBDIR))
    paths = list(state.all_model_checkpoint_paths) if state else []
    if not paths:
        raise UserError(f"No checkpoints in {os.path.join(workdir, SUBDIR)}.")
    if step is None:
        return paths[-1]
    by_step = {int(p.rsplit("-", 1)[1]): p for p in paths}
    if step not in by_step:
        raise UserError(
            f"No checkpoint of step {step} in {workdir}; kept steps: "
            f"{', '.join(map(str, sorted(by_step)))}."
        )
    return by_step[step]


def network_from_checkpoint(workdir, step=None):
    """The float32 f_W of a training checkpoint, without the optimizer.

    Args:
        workdir: a training workdir.
        step: the checkpoint's global step; None for the newest.

    Returns:
        a built `TransformNet` (the one of `<workdir>/transform_net.keras`
        when `step` is the last one).
    """
    path = checkpoint_path(workdir, step)
    try:
        reader = tf.train.load_checkpoint(path)
    except (tf.errors.OpError, ValueError) as e:
        raise UserError(f"Cannot read checkpoint {path}: {e}") from None
    if not reader.has_tensor(_CONFIG_KEY):
        raise UserError(
            f"{path} was written by an older version and does not hold the "
            "whole network; resume training once to write a new checkpoint."
        )
    config = json.loads(reader.get_tensor(_CONFIG_KEY))
    net = TransformNet.from_config({**config, "dtype": "float32"})
    net.build()
    status = tf.train.Checkpoint(transform_net=network_variables(net)).restore(path)
    status.expect_partial().assert_existing_objects_matched()
    return net
