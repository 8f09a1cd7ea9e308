"""Stylising images, files and videos with a trained or exported network.

- `stylizers`: loading a `.keras`, SavedModel or `.tflite` network as a
  `Stylizer`, and choosing its styles (`--style`, `--style_weights`).
- `image`: one image of any size (tiled when large), strength, contact sheet.
- `files`: lists of files and videos; `stylize_paths(StylizeConfig)` is the
  whole `python -m dstyle_tf.stylize` command.
"""

from dstyle_tf.stylization.files import StylizeConfig
from dstyle_tf.stylization.files import StylizeResult
from dstyle_tf.stylization.files import list_inputs
from dstyle_tf.stylization.files import plan_outputs
from dstyle_tf.stylization.files import stylize_files
from dstyle_tf.stylization.files import stylize_paths
from dstyle_tf.stylization.image import apply_strength
from dstyle_tf.stylization.image import check_strength
from dstyle_tf.stylization.image import contact_sheet
from dstyle_tf.stylization.image import fixed_size_tiles
from dstyle_tf.stylization.image import stylize_image
from dstyle_tf.stylization.stylizers import ALIGN
from dstyle_tf.stylization.stylizers import KerasStylizer
from dstyle_tf.stylization.stylizers import ModelLoadError
from dstyle_tf.stylization.stylizers import SavedModelStylizer
from dstyle_tf.stylization.stylizers import StyleError
from dstyle_tf.stylization.stylizers import StyleSetStylizer
from dstyle_tf.stylization.stylizers import Stylizer
from dstyle_tf.stylization.stylizers import TFLiteStylizer
from dstyle_tf.stylization.stylizers import choose_style_weights
from dstyle_tf.stylization.stylizers import load_stylizer
from dstyle_tf.stylization.stylizers import parse_style_weights
from dstyle_tf.stylization.stylizers import select_style
from dstyle_tf.stylization.stylizers import tile_context

__all__ = [
    "ALIGN", "KerasStylizer", "ModelLoadError", "SavedModelStylizer", "StyleError",
    "StyleSetStylizer", "StylizeConfig", "StylizeResult", "Stylizer", "TFLiteStylizer", "apply_strength",
    "check_strength", "choose_style_weights", "contact_sheet", "fixed_size_tiles",
    "list_inputs", "load_stylizer", "parse_style_weights", "plan_outputs", "select_style",
    "stylize_files", "stylize_image", "stylize_paths", "tile_context",
]
