"""Evaluation: structure preservation against style strength, side by side.

- `runner`: methods (trained networks, Gatys optimisation) × a folder of
  photos → metric rows (`EvaluationConfig`, `run_evaluation`,
  `evaluate_folder`, `Judge`, `Method`).
- `report`: report.json, the Markdown table (mean ± std, best in bold).
- `sheets`: PNG comparison sheets (PIL) and the style/depth trade-off plot
  (matplotlib).

`python -m dstyle_tf.evaluate` is the command-line front end; see
docs/evaluation.md.
"""

from dstyle_tf.evaluation.runner import EvaluationConfig
from dstyle_tf.evaluation.runner import Judge
from dstyle_tf.evaluation.runner import Method
from dstyle_tf.evaluation.runner import evaluate_folder
from dstyle_tf.evaluation.runner import evaluate_photo
from dstyle_tf.evaluation.runner import run_evaluation
