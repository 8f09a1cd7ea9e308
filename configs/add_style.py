r"""Adds a style to a trained network in a few hundred steps.

Only the new style's instance-norm scales and offsets are trained; every
other weight, and every other style, stays exactly as it was (Dumoulin et
al. 2017, §3). The result holds the old styles and the new one, in that
order, and is written to the new workdir like any training run.

    python -m dstyle_tf.train --config=configs/add_style.py:new.jpg \
        --config.init_from=runs/multistyle --workdir=runs/multistyle_plus

Argument after the colon: the new style image(s) or bundled style name(s),
comma-separated. `init_from` is a training workdir (or a `.keras` file) of
an instance-norm network, single- or multi-style. The loss terms and data
are the demo's (`configs/demo.py`); set them as for the network's own run.
"""

from configs import demo
from dstyle_tf.styles import style_list
from dstyle_tf.styles import style_name


def get_config(arg=None):
    config = demo.get_config()
    images = style_list(arg or "")
    config.style.image = ",".join(images)
    # No image: validation asks for one.
    config.style.name = style_name(images[0]) if len(images) == 1 else "added_styles"
    config.train.train_only_new_styles = True
    # Only the γ and β rows of the new style train: a higher rate than the
    # whole network's suits these few parameters.
    config.optimizer.learning_rate = 1e-2
    config.train.steps = 300
    config.train.checkpoint_every = 100
    config.train.sample_every = 100
    config.train.gradient_share_every = 0
    return config
