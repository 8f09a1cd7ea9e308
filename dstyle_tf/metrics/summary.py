"""All structure metrics of one (photo, stylized) pair, and folder statistics.

`structure_metrics` returns one flat dict per image pair — a row of the
evaluation table — and `aggregate` turns a list of such rows into mean,
spread and median per metric. `METRIC_DIRECTIONS` says for every metric name
whether higher or lower is better, so a report can mark the best model.
"""

import numbers

import numpy as np

from dstyle_tf.metrics.depth_metrics import spearman
from dstyle_tf.metrics.depth_metrics import ssi_rmse
from dstyle_tf.metrics.depth_metrics import whdr
from dstyle_tf.metrics.edges import edge_preservation
from dstyle_tf.metrics.image_quality import check_same_shape
from dstyle_tf.metrics.image_quality import ssim
from dstyle_tf.metrics.saliency import saliency_preservation

HIGHER, LOWER = "higher", "lower"

# Every metric name produced by `structure_metrics`, `style_strength` and
# `flicker` (the input clip's own error, "flicker_input_error", is no score).
METRIC_DIRECTIONS = {
    "depth_ssi_rmse": LOWER,
    "depth_spearman": HIGHER,
    "depth_whdr": LOWER,
    "edge_precision": HIGHER,
    "edge_recall": HIGHER,
    "edge_f1": HIGHER,
    "edge_spurious": LOWER,
    "hed_precision": HIGHER,
    "hed_recall": HIGHER,
    "hed_f1": HIGHER,
    "hed_spurious": LOWER,
    "saliency_cc": HIGHER,
    "saliency_sim": HIGHER,
    "saliency_kl": LOWER,
    "ssim": HIGHER,
    "gram_distance": LOWER,
    "content_distance": LOWER,
    "flicker_warp_error": LOWER,
    "flicker_ratio": LOWER,
}


def structure_metrics(
    photo,
    stylized,
    depth_photo=None,
    depth_stylized=None,
    *,
    edge_tolerance=2,
    canny_sigma=1.5,
    whdr_pairs=10000,
    whdr_threshold=0.1,
    seed=0,
):
    """Every structure-preservation metric of one stylized image.

    Args:
        photo: the content photo, RGB (H, W, 3) in [0, 255].
        stylized: the stylized photo, same shape.
        depth_photo, depth_stylized: optional depth maps (h, w) of the two
            images from the same depth network φ1; both or neither. Without
            them the depth metrics are left out.
        edge_tolerance: edge matching radius in pixels (`edge_scores`).
        canny_sigma: smoothing of the Canny detector (`canny`).
        whdr_pairs, whdr_threshold, seed: point pairs of `whdr`.

    Returns:
        Flat dict name → float, names as in `METRIC_DIRECTIONS`:
        edge_precision, edge_recall, edge_f1, edge_spurious, saliency_cc,
        saliency_sim, saliency_kl, ssim, and depth_ssi_rmse, depth_spearman,
        depth_whdr when depth maps are given.
    """
    photo = np.asarray(photo, dtype=np.float64)
    stylized = np.asarray(stylized, dtype=np.float64)
    if photo.ndim != 3 or photo.shape[-1] != 3:
        raise ValueError(f"photo must be RGB (H, W, 3), got shape {photo.shape}.")
    check_same_shape(photo, stylized, ("photo", "stylized"))
    if (depth_photo is None) != (depth_stylized is None):
        raise ValueError(
            "give both depth maps (of the photo and of the stylized image) or neither."
        )

    results = {}
    if depth_photo is not None:
        results["depth_ssi_rmse"] = ssi_rmse(depth_photo, depth_stylized)
        results["depth_spearman"] = spearman(depth_photo, depth_stylized)
        results["depth_whdr"] = whdr(
            depth_photo, depth_stylized, num_pairs=whdr_pairs, threshold=whdr_threshold, seed=seed
        )
    edges = edge_preservation(photo, stylized, tolerance=edge_tolerance, sigma=canny_sigma)
    results.update({f"edge_{name}": value for name, value in edges.items()})
    saliency = saliency_preservation(photo, stylized)
    results.update({f"saliency_{name}": value for name, value in saliency.items()})
    results["ssim"] = ssim(photo, stylized)
    return results


def aggregate(rows):
    """Mean, spread and median of each metric over a folder of images.

    Args:
        rows: iterable of dicts name → number (e.g. `structure_metrics`
            results, possibly merged with `style_strength`). A name missing
            from some rows, or a NaN value, is skipped for that row; values
            that are not numbers (an "image" or "model" label) are ignored, so
            rows can carry their own labels.

    Returns:
        dict name → {"mean", "std", "median", "min", "max", "count"}, with
        "std" the population standard deviation (ddof = 0: the spread of
        this folder, 0 for a single image) and "count" the number of values
        used. Names keep their first-seen order.
    """
    values = {}
    for row in rows:
        for name, value in row.items():
            if isinstance(value, numbers.Real) and not isinstance(value, bool):
                values.setdefault(name, []).append(float(value))
    stats = {}
    for name, column in values.items():
        column = np.asarray(column)
        column = column[np.isfinite(column)]
        if column.size == 0:
            stats[name] = dict.fromkeys(("mean", "std", "median", "min", "max"), float("nan"))
            stats[name]["count"] = 0
            continue
        stats[name] = {
            "mean": float(column.mean()),
            "std": float(column.std()),
            "median": float(np.median(column)),
            "min": float(column.min()),
            "max": float(column.max()),
            "count": int(column.size),
        }
    return stats
