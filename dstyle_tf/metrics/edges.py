"""Edge preservation: Canny edges of the stylized image against the photo's.

Canny (1986) is scikit-image's `feature.canny`; what is ours is the choice
of its hysteresis thresholds from the image's own gradient distribution, so
it needs no tuning per image or style, and tolerant edge matching in the
manner of the BSDS boundary benchmark (Martin et al. 2004).
"""

import numpy as np

from dstyle_tf.metrics.image_quality import check_same_shape
from dstyle_tf.metrics.image_quality import gaussian_blur
from dstyle_tf.metrics.image_quality import luminance
from dstyle_tf.metrics.optional import require


def gradient_magnitude(gray, sigma):
    """|∇(g_σ * gray)| with Sobel derivatives: the magnitude Canny thresholds."""
    ndimage = require("scipy.ndimage")
    smooth = gaussian_blur(gray, sigma)
    return np.hypot(ndimage.sobel(smooth, axis=0), ndimage.sobel(smooth, axis=1))


def canny(image, sigma=1.5, high_quantile=0.85, low_ratio=0.4, min_high_fraction=0.1):
    """Canny edge map with thresholds relative to the gradient distribution.

    Steps (`skimage.feature.canny`): luminance → Gaussian smoothing (σ,
    mirrored borders) → Sobel gradient → non-maximum suppression →
    hysteresis with 8-connected chains. The high threshold is the
    `high_quantile` of the gradient magnitude over all pixels (MATLAB's
    `edge(..., 'canny')` uses 0.7), but at least `min_high_fraction` of its
    maximum so that images with large flat areas do not turn numerical
    ripples into edges; the low threshold is `low_ratio` × high (MATLAB: 0.4).
    The outermost pixel ring is never an edge.

    Args:
        image: RGB (H, W, 3) or grey (H, W); any value range.
        sigma: smoothing σ in pixels.
        high_quantile, low_ratio, min_high_fraction: the thresholds above.

    Returns:
        bool array (H, W), True on edge pixels (one pixel wide).
    """
    feature = require("skimage.feature")
    gray = luminance(image)
    magnitude = gradient_magnitude(gray, sigma)
    high = max(np.quantile(magnitude, high_quantile), min_high_fraction * magnitude.max())
    if high <= 1e-9 * max(1.0, np.abs(gray).max()):
        return np.zeros(gray.shape, dtype=bool)
    return feature.canny(
        gray, sigma=sigma, low_threshold=low_ratio * high, high_threshold=high, mode="reflect"
    )


def dilate(mask, radius):
    """Pixels within `radius` (Euclidean) of a True pixel of a boolean map.

    Binary dilation by a disk, via `scipy.ndimage.distance_transform_edt`.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return np.zeros(mask.shape, dtype=bool)
    ndimage = require("scipy.ndimage")
    return ndimage.distance_transform_edt(~mask) <= radius


def edge_scores(reference_edges, edges, tolerance=2):
    """Precision, recall, F1 and spurious share of `edges` against a reference.

    An edge pixel is matched when an edge pixel of the other map lies within
    `tolerance` pixels (Euclidean), as in the BSDS boundary benchmark (Martin
    et al., TPAMI 2004) but without its one-to-one assignment:

        precision = |E ∩ dilate(R)| / |E|       (stylized edges that are real)
        recall    = |R ∩ dilate(E)| / |R|       (photo edges that survive)
        F1        = 2·P·R / (P + R)
        spurious  = |E \\ dilate(R)| / |E| = 1 − precision

    where R are the photo's edges and E the stylized image's. An empty E
    gives precision 1 and an empty R recall 1 (nothing to get wrong).

    Direction: precision, recall, F1 higher is better (1 perfect);
    spurious lower is better (0 perfect).

    Returns:
        dict with float "precision", "recall", "f1", "spurious".
    """
    reference_edges = np.asarray(reference_edges, dtype=bool)
    edges = np.asarray(edges, dtype=bool)
    check_same_shape(reference_edges, edges, ("reference_edges", "edges"))
    if reference_edges.ndim != 2:
        raise ValueError(f"edge maps must be 2-D, got shape {edges.shape}.")
    count, reference_count = edges.sum(), reference_edges.sum()
    precision = (edges & dilate(reference_edges, tolerance)).sum() / count if count else 1.0
    recall = (
        (reference_edges & dilate(edges, tolerance)).sum() / reference_count
        if reference_count
        else 1.0
    )
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "spurious": float(1.0 - precision),
    }


def edge_preservation(photo, stylized, tolerance=2, **canny_kwargs):
    """`edge_scores` of canny(stylized) against canny(photo).

    Args:
        photo, stylized: RGB (H, W, 3) in [0, 255] (or grey), same shape.
        tolerance: matching radius in pixels.
        **canny_kwargs: passed to `canny` for both images.
    """
    check_same_shape(photo, stylized, ("photo", "stylized"))
    return edge_scores(
        canny(photo, **canny_kwargs), canny(stylized, **canny_kwargs), tolerance=tolerance
    )


def thin_edges(probability, threshold=0.5):
    """One-pixel-wide edges of an edge-probability map (e.g. HED's).

    Pixels with probability ≥ `threshold`, thinned to their skeleton
    (`skimage.morphology.thin`), so thick HED responses count like Canny's
    thin edges in `edge_scores`.
    """
    morphology = require("skimage.morphology")
    probability = np.asarray(probability, dtype=np.float64)
    if probability.ndim == 3:
        probability = probability[..., 0]
    return morphology.thin(probability >= threshold)


def learned_edge_preservation(photo_edges, stylized_edges, tolerance=2, threshold=0.5):
    """`edge_scores` between two edge-probability maps (a learned judge: HED).

    Args:
        photo_edges, stylized_edges: (H, W) or (H, W, 1) probabilities in
            [0, 1] of the photo and of the stylized image.
    """
    check_same_shape(photo_edges, stylized_edges, ("photo_edges", "stylized_edges"))
    return edge_scores(
        thin_edges(photo_edges, threshold), thin_edges(stylized_edges, threshold), tolerance
    )
