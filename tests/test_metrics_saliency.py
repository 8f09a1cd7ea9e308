"""Spectral residual saliency and the MIT benchmark's CC, SIM and KL."""

import numpy as np
import pytest

from dstyle_tf.metrics.image_quality import gaussian_blur
from dstyle_tf.metrics.saliency import correlation_coefficient
from dstyle_tf.metrics.saliency import kl_divergence
from dstyle_tf.metrics.saliency import saliency_preservation
from dstyle_tf.metrics.saliency import similarity
from dstyle_tf.metrics.saliency import spectral_residual_saliency

# Saliency is computed at 64 px, so a 256 px scene needs blur of a few pixels
# before the working-resolution image changes.
BLUR_SIGMAS = (1.0, 2.0, 4.0)
NOISE_LEVELS = (10.0, 40.0, 120.0)


@pytest.fixture(scope="module")
def scene():
    """Three odd-one-out objects on a regular texture (which saliency ignores)."""
    rows, cols = np.mgrid[0:256, 0:256].astype(np.float64) / 2.0
    texture = 120 + 30 * np.sin(cols / 2.0) * np.sin(rows / 2.0)
    image = np.repeat(texture[..., None], 3, axis=-1)
    image[40:72, 48:80] = (250, 230, 40)
    image[(rows - 90) ** 2 + (cols - 90) ** 2 < 10**2] = (20, 20, 200)
    image[160:200, 40:52] = 255
    return image


def _noised(image, level):
    noise = np.random.default_rng(0).normal(size=image.shape)
    return np.clip(image + level * noise, 0, 255)


def _lower_is_better(scores):
    """(−CC, −SIM, KL): every entry lower is better."""
    return np.array([-scores["cc"], -scores["sim"], scores["kl"]])


def test_odd_one_out_is_the_most_salient():
    image = np.full((96, 128, 3), 100.0)
    image[60:68, 30:38] = 230.0
    saliency = spectral_residual_saliency(image)
    assert saliency.shape == (96, 128)
    assert saliency.min() == 0.0 and saliency.max() == 1.0
    row, col = np.unravel_index(np.argmax(saliency), saliency.shape)
    assert 54 <= row <= 74 and 24 <= col <= 44
    assert not spectral_residual_saliency(np.full((32, 32, 3), 7.0)).any()


def test_cc_matches_pearson_formula():
    rng = np.random.default_rng(0)
    reference, saliency = rng.random((2, 9, 7))
    a, b = reference - reference.mean(), saliency - saliency.mean()
    expected = np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b))
    assert correlation_coefficient(reference, saliency) == pytest.approx(expected)
    assert correlation_coefficient(reference, 3 * reference + 1) == pytest.approx(1.0)
    assert correlation_coefficient(reference, -reference) == pytest.approx(-1.0)


def test_sim_is_histogram_intersection_of_normalised_maps():
    left, right = np.zeros((4, 6)), np.zeros((4, 6))
    left[:, :3], right[:, 3:] = 1.0, 1.0
    assert similarity(left, right) == 0.0
    assert similarity(left, left) == pytest.approx(1.0)
    graded = left.copy()
    graded[:, 3:5] = 0.5  # min 0, max 1 already; sums 12 and 16
    assert similarity(left, graded) == pytest.approx(12 * min(1 / 12, 1 / 16))


def test_kl_matches_definition_and_point_mass_case():
    rng = np.random.default_rng(1)
    reference, saliency = rng.random((2, 5, 5)) + 0.1
    q, p = reference / reference.sum(), saliency / saliency.sum()
    eps = np.finfo(float).eps
    expected = np.sum(q * np.log(eps + q / (p + eps)))
    assert kl_divergence(reference, saliency) == pytest.approx(expected)
    point = np.zeros((10, 10))
    point[4, 4] = 1.0
    # A uniform prediction of a point mass loses log(n) nats.
    assert kl_divergence(point, np.ones((10, 10))) == pytest.approx(np.log(100))
    assert kl_divergence(np.ones((10, 10)), point) > 30  # missing mass is punished hard


def test_identity_is_perfect(scene):
    scores = saliency_preservation(scene, scene)
    assert scores["cc"] == pytest.approx(1.0)
    assert scores["sim"] == pytest.approx(1.0)
    assert scores["kl"] == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize(
    "degrade, levels",
    [(gaussian_blur, BLUR_SIGMAS), (_noised, NOISE_LEVELS)],
    ids=["blur", "noise"],
)
def test_every_metric_worsens_monotonically(scene, degrade, levels):
    ladder = np.array(
        [_lower_is_better(saliency_preservation(scene, degrade(scene, level))) for level in levels]
    )
    assert np.all(ladder[0] > np.array([-1.0, -1.0, 0.0]) + 1e-4), ladder
    assert np.all(np.diff(ladder, axis=0) > 0), ladder


def test_spatially_shuffled_image_scores_worst(scene):
    permutation = np.random.default_rng(1).permutation(scene.shape[0] * scene.shape[1])
    shuffled = scene.reshape(-1, 3)[permutation].reshape(scene.shape)
    shuffled_scores = _lower_is_better(saliency_preservation(scene, shuffled))
    for degraded in (gaussian_blur(scene, BLUR_SIGMAS[-1]), _noised(scene, NOISE_LEVELS[-1])):
        assert np.all(shuffled_scores > _lower_is_better(saliency_preservation(scene, degraded)))


def test_invalid_inputs_raise(scene):
    with pytest.raises(ValueError, match="same shape"):
        saliency_preservation(scene, scene[:, :-1])
    with pytest.raises(ValueError, match="non-negative"):
        kl_divergence(np.ones((4, 4)), -np.ones((4, 4)))
    with pytest.raises(ValueError, match="NaN"):
        correlation_coefficient(np.ones((4, 4)), np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="2-D"):
        similarity(np.ones(4), np.ones(4))
