r"""Offline smoke run: the whole training job in a few minutes on a CPU.

Random-weight VGG-16 and a tiny random Depth Anything (no downloads),
synthetic content images and a synthetic style image, 64×64, 40 steps.
The numbers only exercise the machinery; the result is not a real style.

    python -m dstyle_tf.train --config=configs/smoke.py --workdir=/tmp/smoke
"""

from configs.common import get_base_config


def get_config(arg=None):
    config = get_base_config()
    config.style.name = "smoke"
    config.style.image = arg or "synthetic"
    config.style.size = 64

    config.data.source = "synthetic"
    config.data.num_images = 32
    config.data.image_size = 64
    config.data.batch_size = 2
    config.data.shuffle_buffer = 32

    config.model.normalization = "instance"
    config.model.upsampling = "resize_conv"

    config.vgg.weights = "random"
    config.depth.preset = "random"
    config.depth.input_size = 126  # smallest size the tiny network accepts

    config.train.steps = 40
    config.train.log_every = 10
    config.train.checkpoint_every = 20
    config.train.sample_every = 20
    config.train.mixed_precision = "float32"
    return config
