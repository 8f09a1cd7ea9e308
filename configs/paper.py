r"""Depth-aware style transfer exactly as in Liu et al. 2017 (NPAR).

MS-COCO 2017 train resized to 256×256, batch 4, 40,000 iterations, Adam
lr 1e-3, λc = 1, λs = 5, λd = 5, TV 1e-6 (the paper chooses 1e-6…1e-4 per
style), content relu2_2, style relu1_2…relu4_3, the paper's network
(batch norm, fractionally strided convolutions).

    python -m dstyle_tf.train --config=configs/paper.py:/path/to/style.jpg \
        --workdir=runs/my_style

Optional argument after the colon: the style image path.
"""

import os

from configs.common import get_base_config


def get_config(arg=None):
    config = get_base_config()
    if arg:
        config.style.image = arg
        config.style.name = os.path.splitext(os.path.basename(arg))[0]

    config.data.source = "tfds"
    config.data.tfds_name = "coco/2017"
    config.data.image_size = 256
    config.data.resize = "resize"
    config.data.batch_size = 4

    config.model.normalization = "batch"
    config.model.upsampling = "transpose"

    config.vgg.weights = "imagenet"
    config.vgg.content_layer = "relu2_2"
    config.vgg.style_layers = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")

    config.loss.content_weight = 1.0
    config.loss.style_weight = 5.0
    config.loss.depth_weight = 5.0
    config.loss.tv_weight = 1e-6

    config.optimizer.learning_rate = 1e-3
    config.train.steps = 40_000
    return config
