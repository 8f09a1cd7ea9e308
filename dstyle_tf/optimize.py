"""`python -m dstyle_tf.optimize`: Gatys-style optimisation of one image (`dstyle_tf.cli.optimize`).

Also `optimize_image` and its helpers, as documented
(`dstyle_tf.pixel_optimization` holds them).
"""

from dstyle_tf.cli.optimize import main  # noqa: F401
from dstyle_tf.cli.optimize import run
from dstyle_tf.pixel_optimization import PixelImage  # noqa: F401  (public API)
from dstyle_tf.pixel_optimization import initial_image  # noqa: F401  (public API)
from dstyle_tf.pixel_optimization import load_style  # noqa: F401  (public API)
from dstyle_tf.pixel_optimization import network_config  # noqa: F401  (public API)
from dstyle_tf.pixel_optimization import optimize_image  # noqa: F401  (public API)

if __name__ == "__main__":
    run()
