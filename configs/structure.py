r"""Structure-aware demo: `configs/demo.py` plus the depth and edge terms.

Depth for global structure (Liu et al. 2017), edges for local structure (Cheng
et al., "Structure-Preserving Neural Style Transfer", IEEE TIP 2020): HED's
edge map of the stylized image must match the photo's. Same photos, style,
network, seed and steps as the demo, so the two runs compare directly
(docs/results.md).

Offline there is no pretrained depth network, so the depth term runs a small
random Depth Anything: it only exercises the path. With a real preset
(`--config.depth.preset=/path/to/depth_anything_v2_small`) it is the paper's
depth loss.

    pip install -e ".[demo]"
    python -m dstyle_tf.train --config=configs/structure.py --workdir=runs/structure

Optional argument after the colon: a bundled style name or a style image path.
"""

from configs import demo


def get_config(arg=None):
    config = demo.get_config(arg)

    config.edge.backend = "hed"
    config.edge.weights = "hed"

    # Random tiny Depth Anything offline (126 is its smallest input).
    config.depth.preset = "random"
    config.depth.input_size = 126

    # Calibrated with the gradient shares (docs/results.md): the edge term
    # carries a clear share of ‖∇W‖ without drowning content and style.
    config.loss.edge_weight = 10000.0
    # The random depth network only exercises the path: a small share.
    config.loss.depth_weight = 0.5
    return config
