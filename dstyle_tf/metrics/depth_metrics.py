"""Depth preservation: how well φ1(stylized) keeps the depth of φ1(photo).

Single-image depth networks (Chen et al. 2016, Depth Anything) predict depth
only up to an unknown scale and shift, so every metric here is invariant to
d ↦ a·d + b with a > 0 applied to either map. Arguments follow the
`metric(reference, prediction)` order of scikit-learn: the photo's depth map
first, the stylized image's second. Both are 2-D arrays of the same shape.
"""

import numpy as np

from dstyle_tf.metrics.image_quality import as_map
from dstyle_tf.metrics.image_quality import check_same_shape
from dstyle_tf.metrics.optional import require


def _depth_pair(reference, prediction):
    reference = as_map(reference, "reference depth")
    prediction = as_map(prediction, "predicted depth")
    check_same_shape(reference, prediction, ("reference depth", "predicted depth"))
    if np.ptp(reference) == 0:
        raise ValueError("reference depth is constant: its depth order is undefined.")
    return reference.ravel(), prediction.ravel()


def align_scale_shift(reference, prediction):
    """Least-squares scale and shift that best map `prediction` onto `reference`.

    Solves min over (s, t) of Σ (s·p + t − r)² in closed form, with s ≥ 0:
    a negative best scale (depth order reversed) is replaced by s = 0, the
    best constant, because an inverted depth map must not count as preserved.

    Returns:
        (scale, shift) floats.
    """
    return _fit_scale_shift(*_depth_pair(reference, prediction))


def _fit_scale_shift(reference, prediction):
    centred = prediction - prediction.mean()
    variance = np.mean(centred**2)
    scale = np.mean(centred * (reference - reference.mean())) / variance if variance > 0 else 0.0
    scale = max(scale, 0.0)
    shift = reference.mean() - scale * prediction.mean()
    return float(scale), float(shift)


def ssi_rmse(reference, prediction):
    """Scale-and-shift-invariant RMSE between two depth maps.

        r̂ = (r − mean r) / std r                       (reference standardised)
        (s, t) = argmin_{s ≥ 0, t} Σ (s·p + t − r̂)²     (`align_scale_shift`)
        SSI-RMSE = sqrt(mean((s·p + t − r̂)²))

    The least-squares alignment is the one of MiDaS (Ranftl et al., TPAMI
    2020); standardising the reference makes the value unit-free and
    invariant to affine changes of both maps. It equals sqrt(1 − ρ²) for a
    Pearson correlation ρ > 0 between the maps, and 1 when ρ ≤ 0.

    Direction: lower is better; 0 perfect (the maps are affinely equal),
    1 no positive linear relation at all.

    Raises:
        ValueError: on shape mismatch, NaN, or a constant reference map.
    """
    reference, prediction = _depth_pair(reference, prediction)
    reference = (reference - reference.mean()) / reference.std()
    scale, shift = _fit_scale_shift(reference, prediction)
    return float(np.sqrt(np.mean((scale * prediction + shift - reference) ** 2)))


def spearman(reference, prediction):
    """Spearman rank correlation between two depth maps.

        ρ_s = Pearson correlation of rank(r) and rank(p),

    over all pixels, ties ranked by their average rank (Spearman 1904),
    computed by `scipy.stats.spearmanr`. Only the depth order matters, so it
    is invariant to any increasing transformation, a·d + b with a > 0 included.

    Direction: higher is better; 1 perfect, 0 unrelated, −1 reversed. A
    constant prediction (no depth order at all) scores 0.
    """
    stats = require("scipy.stats")
    reference, prediction = _depth_pair(reference, prediction)
    if np.ptp(prediction) == 0:
        return 0.0
    return float(stats.spearmanr(reference, prediction).statistic)


def sample_point_pairs(shape, num_pairs, seed=0):
    """Uniformly random pairs of distinct pixels, reproducible from `seed`.

    Returns:
        Two int arrays (num_pairs,) of flat indices into an array of `shape`.
    """
    size = int(np.prod(shape))
    if size < 2:
        raise ValueError(f"need at least two pixels to sample pairs, got shape {shape}.")
    rng = np.random.default_rng(seed)
    first = rng.integers(0, size, num_pairs)
    # An offset in 1..size-1 makes the second point always differ from the first.
    second = (first + rng.integers(1, size, num_pairs)) % size
    return first, second


def _robust_normalise(depth):
    """Median 0, mean absolute deviation 1: the affine-invariant frame of WHDR."""
    centred = depth - np.median(depth)
    spread = np.mean(np.abs(centred))
    return centred / spread if spread > 0 else centred


def ordinal_relations(depth, first, second, threshold=0.1):
    """Ordinal label of each point pair: +1 farther, −1 closer, 0 equal.

    The depth map is normalised to median 0 and mean absolute deviation 1;
    a pair is "equal" when its normalised depths differ by at most
    `threshold`, otherwise the sign of the difference d[first] − d[second].
    """
    normalised = _robust_normalise(np.asarray(depth, dtype=np.float64).ravel())
    difference = normalised[first] - normalised[second]
    return np.where(np.abs(difference) <= threshold, 0, np.sign(difference)).astype(np.int8)


def whdr(reference, prediction, num_pairs=10000, threshold=0.1, seed=0):
    """Ordinal disagreement on random point pairs (WHDR).

        WHDR = (1/N) Σ_k 1[ℓ_ref(i_k, j_k) ≠ ℓ_pred(i_k, j_k)],

    where ℓ ∈ {closer, equal, farther} is the ordinal relation of pixels i
    and j in a depth map (`ordinal_relations`), over N uniformly sampled
    pixel pairs (`sample_point_pairs`, seeded, so two models are judged on
    the same pairs). This is the weighted human disagreement rate of Bell et
    al. 2014 ("Intrinsic Images in the Wild") that Chen et al. 2016
    ("Single-Image Depth Perception in the Wild") use for relative depth,
    with two adaptations for dense relative depth maps:
      - every pair has weight 1 (there are no human confidences);
      - "equal" is decided by an equality threshold δ (Bell et al.'s δ =
        0.10) on depths normalised to median 0 and mean absolute deviation
        1, a difference rather than Bell et al.'s ratio R1/R2 > 1 + δ,
        because a ratio is not shift-invariant and relative depth is known
        only up to a·d + b.
    Equal pairs of the reference count: predicting an order where the photo
    has none is a disagreement, as in Bell et al.

    Direction: lower is better; 0 perfect, roughly 0.5–0.7 for unrelated
    maps (depending on how many pairs are equal), near 1 for a reversed map.

    Args:
        reference: depth of the photo (H, W).
        prediction: depth of the stylized image (H, W).
        num_pairs: number of sampled pairs N.
        threshold: equality threshold δ in mean-absolute-deviation units.
        seed: seed of the pair sampler.

    Returns:
        float in [0, 1].
    """
    reference, prediction = _depth_pair(reference, prediction)
    first, second = sample_point_pairs(reference.shape, num_pairs, seed)
    labels_ref = ordinal_relations(reference, first, second, threshold)
    labels_pred = ordinal_relations(prediction, first, second, threshold)
    return float(np.mean(labels_ref != labels_pred))
