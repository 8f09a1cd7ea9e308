"""Training a style transfer network.

- `trainer`: `StyleTransferTrainer`, the Keras model that owns f_W and the
  frozen loss networks, and its `train_step`; it mixes in
  `objective` (the loss terms of L and their running means),
  `styles` (the trained styles' Grams and which style each image gets) and
  `gradient_norms` (each term's pull on f_W, a diagnostic).
- `networks`: every network of a run built from its config, and the trainer.
- `loop`: `train(config, workdir)`: data, checkpoints, callbacks, fit,
  artefacts (`python -m dstyle_tf.train` runs it).
"""

from dstyle_tf.training.loop import TrainResult
from dstyle_tf.training.loop import checkpoint_dirs
from dstyle_tf.training.loop import compiled_trainer
from dstyle_tf.training.loop import evaluate_losses
from dstyle_tf.training.loop import fit_until_done
from dstyle_tf.training.loop import logging_callbacks
from dstyle_tf.training.loop import read_final_losses
from dstyle_tf.training.loop import report_skipped
from dstyle_tf.training.loop import restore_latest
from dstyle_tf.training.loop import train
from dstyle_tf.training.networks import MODEL_FILE
from dstyle_tf.training.networks import build_depth_net
from dstyle_tf.training.networks import build_edge_net
from dstyle_tf.training.networks import build_trainer
from dstyle_tf.training.networks import build_transform_net
from dstyle_tf.training.networks import build_vgg
from dstyle_tf.training.networks import float32_copy
from dstyle_tf.training.networks import initial_network
from dstyle_tf.training.networks import load_init_network
from dstyle_tf.training.networks import load_style_image
from dstyle_tf.training.networks import load_teacher
from dstyle_tf.training.networks import style_names
from dstyle_tf.training.objective import LOSS_NAMES
from dstyle_tf.training.styles import STYLE_MODES
from dstyle_tf.training.trainer import StyleTransferTrainer
from dstyle_tf.training.trainer import make_optimizer

__all__ = [
    "LOSS_NAMES", "MODEL_FILE", "STYLE_MODES", "StyleTransferTrainer", "TrainResult",
    "build_depth_net", "build_edge_net", "build_trainer", "build_transform_net", "build_vgg",
    "checkpoint_dirs", "compiled_trainer", "evaluate_losses", "fit_until_done",
    "float32_copy", "initial_network", "load_init_network", "load_style_image",
    "load_teacher", "logging_callbacks", "make_optimizer", "read_final_losses",
    "report_skipped", "restore_latest", "style_names", "train",
]
