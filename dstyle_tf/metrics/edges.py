"""Edge preservation: Canny edges of the stylised image against the photo's.

A numpy Canny detector (Canny 1986) whose hysteresis thresholds are set from
the image's own gradient distribution, so it needs no tuning per image or
style, and tolerant edge matching in the manner of the BSDS boundary
benchmark (Martin et al. 2004).
"""

import numpy as np

from dstyle_tf.metrics.image_quality import check_same_shape
from dstyle_tf.metrics.image_quality import filter_axis
from dstyle_tf.metrics.image_quality import gaussian_blur
from dstyle_tf.metrics.image_quality import luminance

# Offsets (row, column) of the two neighbours across an edge, for gradient
# directions quantised to 0°, 45°, 90° and 135° (rows grow downwards).
_NMS_OFFSETS = ((0, 1), (1, 1), (1, 0), (1, -1))
# Half of the 8-neighbourhood: each undirected neighbour link once.
_FORWARD_LINKS = ((0, 1), (1, -1), (1, 0), (1, 1))


def sobel_gradients(gray):
    """Sobel derivatives (d/dx along columns, d/dy along rows) of a 2-D map."""
    smooth, derive = np.array([1.0, 2.0, 1.0]), np.array([-1.0, 0.0, 1.0])
    grad_x = filter_axis(filter_axis(gray, smooth, 0), derive, 1)
    grad_y = filter_axis(filter_axis(gray, derive, 0), smooth, 1)
    return grad_x, grad_y


def _shifted(values, row, col):
    """values[i + row, j + col], zero outside the map."""
    padded = np.pad(values, 1)
    height, width = values.shape
    return padded[1 + row : 1 + row + height, 1 + col : 1 + col + width]


def non_maximum_suppression(magnitude, grad_x, grad_y):
    """Keeps pixels whose magnitude is a maximum across the edge direction.

    The gradient direction is quantised to four sectors; a pixel survives if
    it is strictly larger than the neighbour ahead and at least as large as
    the one behind (the asymmetry keeps one pixel of a two-pixel plateau).
    """
    angle = np.rad2deg(np.arctan2(grad_y, grad_x)) % 180.0
    sector = np.round(angle / 45.0).astype(int) % 4
    keep = np.zeros(magnitude.shape, dtype=bool)
    for index, (row, col) in enumerate(_NMS_OFFSETS):
        ahead = _shifted(magnitude, row, col)
        behind = _shifted(magnitude, -row, -col)
        keep |= (sector == index) & (magnitude > ahead) & (magnitude >= behind)
    return np.where(keep, magnitude, 0.0)


def _neighbour_links(mask):
    """Flat index pairs of 8-connected neighbours that are both in `mask`."""
    height, width = mask.shape
    flat = np.arange(mask.size).reshape(mask.shape)
    firsts, seconds = [], []
    for row, col in _FORWARD_LINKS:
        source = (slice(0, height - row), slice(max(0, -col), width - max(0, col)))
        target = (slice(row, height), slice(max(0, col), width + min(0, col)))
        both = mask[source] & mask[target]
        firsts.append(flat[source][both])
        seconds.append(flat[target][both])
    return np.concatenate(firsts), np.concatenate(seconds)


def connected_components(mask):
    """Labels the 8-connected components of a boolean map.

    Union–find with hooking to the smaller root and full path compression,
    vectorised over all links; it converges in a few passes even for long
    edge chains. Returns an int array: each pixel's component root (a flat
    index), the pixel's own index outside `mask`.
    """
    first, second = _neighbour_links(mask)
    parent = np.arange(mask.size)
    while True:
        root_a, root_b = parent[first], parent[second]
        differ = root_a != root_b
        if not differ.any():
            return parent.reshape(mask.shape)
        low = np.minimum(root_a, root_b)[differ]
        high = np.maximum(root_a, root_b)[differ]
        np.minimum.at(parent, high, low)
        while True:
            compressed = parent[parent]
            if np.array_equal(compressed, parent):
                break
            parent = compressed


def hysteresis(magnitude, low, high):
    """Pixels above `low` that are 8-connected to a pixel at or above `high`."""
    weak = magnitude > low
    strong = weak & (magnitude >= high)
    roots = connected_components(weak)
    has_strong = np.zeros(magnitude.size, dtype=bool)
    has_strong[roots[strong]] = True
    return weak & has_strong[roots]


def canny(image, sigma=1.5, high_quantile=0.85, low_ratio=0.4, min_high_fraction=0.1):
    """Canny edge map with thresholds relative to the gradient distribution.

    Steps: luminance → Gaussian smoothing (σ) → Sobel gradient → non-maximum
    suppression → hysteresis. The high threshold is the `high_quantile` of
    the gradient magnitude over all pixels (MATLAB's `edge(..., 'canny')`
    uses 0.7), but at least `min_high_fraction` of its maximum so that
    images with large flat areas do not turn numerical ripples into edges;
    the low threshold is `low_ratio` × high (MATLAB: 0.4).

    Args:
        image: RGB (H, W, 3) or grey (H, W); any value range.
        sigma: smoothing σ in pixels.
        high_quantile, low_ratio, min_high_fraction: the thresholds above.

    Returns:
        bool array (H, W), True on edge pixels (one pixel wide).
    """
    gray = gaussian_blur(luminance(image), sigma)
    grad_x, grad_y = sobel_gradients(gray)
    magnitude = np.hypot(grad_x, grad_y)
    high = max(np.quantile(magnitude, high_quantile), min_high_fraction * magnitude.max())
    if high <= 1e-9 * max(1.0, np.abs(gray).max()):
        return np.zeros(gray.shape, dtype=bool)
    thin = non_maximum_suppression(magnitude, grad_x, grad_y)
    return hysteresis(thin, low_ratio * high, high)


def dilate(mask, radius):
    """Binary dilation of a boolean map by a disk of the given pixel radius."""
    height, width = mask.shape
    padded = np.pad(mask, radius)
    grown = np.zeros(mask.shape, dtype=bool)
    for row in range(-radius, radius + 1):
        for col in range(-radius, radius + 1):
            if row * row + col * col <= radius * radius:
                grown |= padded[
                    radius + row : radius + row + height, radius + col : radius + col + width
                ]
    return grown


def edge_scores(reference_edges, edges, tolerance=2):
    """Precision, recall, F1 and spurious share of `edges` against a reference.

    An edge pixel is matched when an edge pixel of the other map lies within
    `tolerance` pixels (Euclidean), as in the BSDS boundary benchmark (Martin
    et al., TPAMI 2004) but without its one-to-one assignment:

        precision = |E ∩ dilate(R)| / |E|       (stylised edges that are real)
        recall    = |R ∩ dilate(E)| / |R|       (photo edges that survive)
        F1        = 2·P·R / (P + R)
        spurious  = |E \\ dilate(R)| / |E| = 1 − precision

    where R are the photo's edges and E the stylised image's. An empty E
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


def edge_preservation(photo, stylised, tolerance=2, **canny_kwargs):
    """`edge_scores` of canny(stylised) against canny(photo).

    Args:
        photo, stylised: RGB (H, W, 3) in [0, 255] (or grey), same shape.
        tolerance: matching radius in pixels.
        **canny_kwargs: passed to `canny` for both images.
    """
    check_same_shape(photo, stylised, ("photo", "stylised"))
    return edge_scores(
        canny(photo, **canny_kwargs), canny(stylised, **canny_kwargs), tolerance=tolerance
    )
