"""`python -m dstyle_tf.stylize`: stylise photos and videos (`dstyle_tf.cli.stylize`).

Also the stylisation library's main names, as documented
(`dstyle_tf.stylization` holds them).
"""

from dstyle_tf.cli.stylize import main  # noqa: F401
from dstyle_tf.cli.stylize import run
from dstyle_tf.stylization import ModelLoadError  # noqa: F401  (public API)
from dstyle_tf.stylization import Stylizer  # noqa: F401  (public API)
from dstyle_tf.stylization import list_inputs  # noqa: F401  (public API)
from dstyle_tf.stylization import load_stylizer  # noqa: F401  (public API)
from dstyle_tf.stylization import plan_outputs  # noqa: F401  (public API)
from dstyle_tf.stylization import stylize_files  # noqa: F401  (public API)
from dstyle_tf.stylization import stylize_image  # noqa: F401  (public API)

if __name__ == "__main__":
    run()
