"""Depth metrics on controlled depth maps: identity, affine invariance, degradation ladders."""

import numpy as np
import pytest

from dstyle_tf.metrics import depth_metrics
from dstyle_tf.metrics.depth_metrics import spearman
from dstyle_tf.metrics.depth_metrics import ssi_rmse
from dstyle_tf.metrics.depth_metrics import whdr
from dstyle_tf.metrics.image_quality import gaussian_blur

BLUR_SIGMAS = (1.0, 2.0, 4.0, 8.0)
NOISE_LEVELS = (0.05, 0.15, 0.4, 1.0)
# ssi_rmse, −spearman, whdr of identical maps: every score below is "lower is better".
PERFECT = np.array([0.0, -1.0, 0.0])


@pytest.fixture(scope="module")
def depth():
    """A room: a floor receding upwards, two boxes at fixed depths, a ball."""
    rows, cols = np.mgrid[0:96, 0:96].astype(np.float64)
    scene = 10.0 - rows / 12.0  # far at the top, near at the bottom
    scene[50:80, 10:35] = 3.0  # near box
    scene[20:45, 55:90] = 7.5  # far box
    ball = (rows - 70) ** 2 + (cols - 65) ** 2 < 12**2
    scene[ball] = 2.0 - 0.5 * np.cos((rows[ball] - 70) / 8.0)
    return scene


def _metrics(reference, prediction):
    return np.array([
        ssi_rmse(reference, prediction),
        -spearman(reference, prediction),
        whdr(reference, prediction),
    ])  # all "lower is better"


def _noised(depth, level):
    noise = np.random.default_rng(0).normal(size=depth.shape)
    return depth + level * depth.std() * noise


def test_identity_is_perfect(depth):
    assert ssi_rmse(depth, depth) == pytest.approx(0.0, abs=1e-12)
    assert spearman(depth, depth) == pytest.approx(1.0)
    assert whdr(depth, depth) == 0.0


@pytest.mark.parametrize("scale, shift", [(3.0, 5.0), (0.01, -40.0), (1e4, 1e3)])
def test_invariant_to_scale_and_shift_of_either_map(depth, scale, shift):
    degraded = gaussian_blur(_noised(depth, 0.1), 2.0)
    expected = _metrics(depth, degraded)
    np.testing.assert_allclose(_metrics(depth, scale * degraded + shift), expected, atol=1e-9)
    np.testing.assert_allclose(_metrics(scale * depth + shift, degraded), expected, atol=1e-9)
    np.testing.assert_allclose(_metrics(depth, scale * depth + shift), PERFECT, atol=1e-9)


@pytest.mark.parametrize(
    "degrade, levels",
    [(gaussian_blur, BLUR_SIGMAS), (_noised, NOISE_LEVELS)],
    ids=["blur", "noise"],
)
def test_every_metric_worsens_monotonically(depth, degrade, levels):
    scores = np.array([_metrics(depth, degrade(depth, level)) for level in levels])
    assert np.all(scores[0] > PERFECT + 1e-3), scores
    assert np.all(np.diff(scores, axis=0) > 0), scores


def test_spatially_shuffled_depth_scores_worst(depth):
    shuffled = np.random.default_rng(1).permutation(depth.ravel()).reshape(depth.shape)
    degraded = [gaussian_blur(depth, BLUR_SIGMAS[-1]), _noised(depth, NOISE_LEVELS[-1])]
    worst_degraded = np.max([_metrics(depth, d) for d in degraded], axis=0)
    assert np.all(_metrics(depth, shuffled) > worst_degraded)


def test_reversed_depth_is_worse_than_unrelated(depth):
    # An inverted map must not be rescued by a negative least-squares scale.
    assert ssi_rmse(depth, -depth) == pytest.approx(1.0)
    assert spearman(depth, -depth) == pytest.approx(-1.0)
    assert whdr(depth, -depth) > 0.9


def _reference_ranks(values):
    """Average ranks with ties, by brute force."""
    return np.array([np.sum(values < v) + (np.sum(values == v) + 1) / 2.0 for v in values])


def test_spearman_matches_direct_rank_computation_with_ties():
    assert list(_reference_ranks(np.array([3, 1, 4, 1, 5]))) == [3.0, 1.5, 4.0, 1.5, 5.0]
    rng = np.random.default_rng(2)
    reference = rng.integers(0, 6, (12, 10)).astype(float)  # many ties
    prediction = reference + rng.integers(-2, 3, reference.shape)
    ranks_r = _reference_ranks(reference.ravel())
    ranks_p = _reference_ranks(prediction.ravel())
    centred_r, centred_p = ranks_r - ranks_r.mean(), ranks_p - ranks_p.mean()
    expected = centred_r @ centred_p / np.sqrt((centred_r @ centred_r) * (centred_p @ centred_p))
    assert spearman(reference, prediction) == pytest.approx(expected, rel=1e-12)


def test_spearman_without_ties_matches_textbook_formula():
    rng = np.random.default_rng(3)
    reference, prediction = rng.normal(size=(2, 8, 8))
    d = _reference_ranks(reference.ravel()) - _reference_ranks(prediction.ravel())
    n = d.size
    assert spearman(reference, prediction) == pytest.approx(1 - 6 * (d @ d) / (n * (n * n - 1)))


def test_ssi_rmse_matches_least_squares_alignment(depth):
    prediction = np.sqrt(depth) + 0.3 * np.sin(depth)
    standardised = (depth - depth.mean()) / depth.std()
    design = np.stack([prediction.ravel(), np.ones(prediction.size)], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, standardised.ravel(), rcond=None)
    expected = np.sqrt(np.mean((design @ coefficients - standardised.ravel()) ** 2))
    assert ssi_rmse(depth, prediction) == pytest.approx(expected, rel=1e-9)
    scale, shift = depth_metrics.align_scale_shift(depth, 4.0 * depth - 2.0)
    assert (scale, shift) == pytest.approx((0.25, 0.5))


def test_ordinal_relations_use_the_equality_threshold():
    depth = np.array([0.0, 1.0, 1.05, 3.0, -2.0])  # median 1, mean |d − 1| = 1.41
    first, second = np.array([1, 1, 1, 0]), np.array([2, 3, 4, 1])
    labels = depth_metrics.ordinal_relations(depth, first, second, threshold=0.1)
    assert list(labels) == [0, -1, 1, -1]
    labels = depth_metrics.ordinal_relations(depth, first, second, threshold=0.0)
    assert list(labels) == [-1, -1, 1, -1]


def test_point_pairs_are_seeded_and_distinct():
    first, second = depth_metrics.sample_point_pairs((5, 4), 1000, seed=7)
    assert np.all(first != second)
    assert first.min() >= 0 and max(first.max(), second.max()) < 20
    again = depth_metrics.sample_point_pairs((5, 4), 1000, seed=7)
    np.testing.assert_array_equal(np.stack([first, second]), np.stack(again))


@pytest.mark.parametrize("metric", [ssi_rmse, spearman, whdr])
def test_invalid_inputs_raise(depth, metric):
    with pytest.raises(ValueError, match="same shape"):
        metric(depth, depth[:-1])
    broken = depth.copy()
    broken[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        metric(depth, broken)
    with pytest.raises(ValueError, match="2-D"):
        metric(depth[..., None], depth[..., None])
    with pytest.raises(ValueError, match="constant"):
        metric(np.ones_like(depth), depth)
