"""The evaluation libraries (scikit-image, SciPy, matplotlib), imported on use.

They are the `eval` extra of the package, so `import dstyle_tf` and training
work without them; a metric that needs one imports it through `require`,
which turns a missing library into a one-line `UserError` saying what to
install.
"""

import importlib

from dstyle_tf.errors import UserError

INSTALL_HINT = 'pip install "dstyle_tf[eval]"'
# Import name → distribution name.
_DISTRIBUTIONS = {"skimage": "scikit-image", "scipy": "scipy", "matplotlib": "matplotlib"}


class MissingEvalLibrary(UserError, ImportError):
    """An evaluation library (the `eval` extra) is not installed."""


def require(module):
    """Imports `module` (e.g. "scipy.ndimage"), or raises `MissingEvalLibrary`.

    Args:
        module: dotted module name of scikit-image, SciPy or matplotlib.

    Returns:
        the imported module.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        package = _DISTRIBUTIONS.get(package, package)
        raise MissingEvalLibrary(
            f"Evaluation needs {package}, which is not installed: {INSTALL_HINT}"
        ) from None
