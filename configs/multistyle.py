r"""One network for several styles (conditional instance norm, Dumoulin et al. 2017).

The offline demo setup (`configs/demo.py`: ImageNet VGG-16 loss network,
scikit-image's photos, a light network) with a list of style images; the
network holds one scale and offset per style in every instance norm and
everything else is shared.

    python -m dstyle_tf.train --config=configs/multistyle.py --workdir=runs/multistyle
    python -m dstyle_tf.train --config=configs/multistyle.py:a.jpg,b.jpg,c.jpg --workdir=runs/abc

Argument after the colon: comma-separated style images or bundled style
names (default: the four bundled paintings); each style is named after its
file. Every batch is spread over the styles (`train.style_mode=split`:
image i of step t gets style (i + t) mod N); `per_batch` trains one style
per step, in turn, and measured clearly worse at the same steps
(docs/results.md). Add a style later with `configs/add_style.py`.
"""

from configs import demo
from dstyle_tf.styles import BUNDLED_STYLES


def get_config(arg=None):
    config = demo.get_config()
    config.style.image = arg or ",".join(BUNDLED_STYLES)
    config.style.name = "multistyle"  # the export folder's name
    config.train.style_mode = "split"
    return config
