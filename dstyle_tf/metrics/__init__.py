"""Evaluation metrics: how much structure a stylized image keeps of its photo.

numpy with SciPy and scikit-image (the `eval` extra, imported on first use),
no downloads. Inputs are RGB arrays (H, W, 3) in [0, 255] or 2-D maps; every
comparison takes `(reference, prediction)` = (photo-derived, stylized-derived),
like scikit-learn's `(y_true, y_pred)`.

- depth: `ssi_rmse`, `spearman`, `whdr` between φ1(photo) and φ1(stylized);
- edges: `canny`, `edge_scores`, `edge_preservation` (precision, recall, F1,
  spurious share);
- saliency: `spectral_residual_saliency`, `correlation_coefficient` (CC),
  `similarity` (SIM), `kl_divergence` (KL), `saliency_preservation`;
- image quality: `ssim` of luminance, `luminance`, `gaussian_blur`;
- style: `gram_distance`, `content_distance`, `style_strength` on feature maps;
- temporal: `synthetic_clip`, `warp`, `warping_error`, `flicker` (warping
  error of a stylised synthetic clip with known motion);
- one pair / a folder: `structure_metrics`, `aggregate`, `METRIC_DIRECTIONS`.

Example:
```python
rows = [structure_metrics(photo, stylized, depth_photo, depth_stylized)
        for photo, stylized, depth_photo, depth_stylized in pairs]
table = aggregate(rows)   # {"edge_f1": {"mean": ..., "std": ..., ...}, ...}
```
"""

from dstyle_tf.metrics.depth_metrics import align_scale_shift
from dstyle_tf.metrics.depth_metrics import ordinal_relations
from dstyle_tf.metrics.depth_metrics import sample_point_pairs
from dstyle_tf.metrics.depth_metrics import spearman
from dstyle_tf.metrics.depth_metrics import ssi_rmse
from dstyle_tf.metrics.depth_metrics import whdr
from dstyle_tf.metrics.edges import canny
from dstyle_tf.metrics.edges import edge_preservation
from dstyle_tf.metrics.edges import edge_scores
from dstyle_tf.metrics.edges import learned_edge_preservation
from dstyle_tf.metrics.edges import thin_edges
from dstyle_tf.metrics.image_quality import gaussian_blur
from dstyle_tf.metrics.image_quality import luminance
from dstyle_tf.metrics.image_quality import ssim
from dstyle_tf.metrics.saliency import correlation_coefficient
from dstyle_tf.metrics.saliency import kl_divergence
from dstyle_tf.metrics.saliency import saliency_preservation
from dstyle_tf.metrics.saliency import similarity
from dstyle_tf.metrics.saliency import spectral_residual_saliency
from dstyle_tf.metrics.style_metrics import CONTENT_LAYER
from dstyle_tf.metrics.style_metrics import STYLE_LAYERS
from dstyle_tf.metrics.style_metrics import content_distance
from dstyle_tf.metrics.style_metrics import features_of
from dstyle_tf.metrics.style_metrics import gram_distance
from dstyle_tf.metrics.style_metrics import gram_distances
from dstyle_tf.metrics.style_metrics import gram_matrices
from dstyle_tf.metrics.style_metrics import gram_matrix
from dstyle_tf.metrics.style_metrics import style_strength
from dstyle_tf.metrics.summary import METRIC_DIRECTIONS
from dstyle_tf.metrics.summary import aggregate
from dstyle_tf.metrics.summary import structure_metrics
from dstyle_tf.metrics.temporal import FLICKER_METRICS
from dstyle_tf.metrics.temporal import flicker
from dstyle_tf.metrics.temporal import synthetic_clip
from dstyle_tf.metrics.temporal import warp
from dstyle_tf.metrics.temporal import warping_error
