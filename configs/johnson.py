r"""The Johnson et al. 2016 baseline: the paper's setup without the depth loss.

    python -m dstyle_tf.train --config=configs/johnson.py:/path/to/style.jpg \
        --workdir=runs/my_style_johnson
"""

from configs import paper


def get_config(arg=None):
    config = paper.get_config(arg)
    config.loss.depth_weight = 0.0
    return config
