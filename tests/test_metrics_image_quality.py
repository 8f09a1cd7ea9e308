"""SSIM of luminance and the shared image primitives."""

import numpy as np
import pytest

from dstyle_tf.metrics.image_quality import gaussian_blur
from dstyle_tf.metrics.image_quality import luminance
from dstyle_tf.metrics.image_quality import ssim

BLUR_SIGMAS = (0.5, 1.0, 2.0, 4.0)
NOISE_LEVELS = (5.0, 15.0, 40.0, 80.0)


@pytest.fixture(scope="module")
def scene():
    """Gradient background, two overlapping rectangles, a ring and fine stripes."""
    rows, cols = np.mgrid[0:80, 0:96].astype(np.float64)
    image = np.stack([2.0 * cols, 2.5 * rows, np.full_like(rows, 128.0)], axis=-1)
    image[8:40, 10:50] = (200, 30, 60)
    image[25:60, 35:70] = (20, 180, 90)
    radius = np.hypot(rows - 55, cols - 20)
    image[(radius > 8) & (radius < 13)] = 250
    image[5:30, 60:90] = np.where((cols[5:30, 60:90] // 2) % 2 == 0, 240, 15)[..., None]
    return image


def _noised(image, level):
    noise = np.random.default_rng(0).normal(size=image.shape)
    return np.clip(image + level * noise, 0, 255)


def _reference_ssim(x, y, sigma=1.5, size=11, data_range=255.0):
    """Window by window, with an explicit 2-D Gaussian window: no shared code."""
    offsets = np.arange(size) - size // 2
    window = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma**2))
    window /= window.sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for i in range(x.shape[0] - size + 1):
        for j in range(x.shape[1] - size + 1):
            a, b = x[i : i + size, j : j + size], y[i : i + size, j : j + size]
            mu_a, mu_b = np.sum(window * a), np.sum(window * b)
            var_a = np.sum(window * (a - mu_a) ** 2)
            var_b = np.sum(window * (b - mu_b) ** 2)
            cov = np.sum(window * (a - mu_a) * (b - mu_b))
            values.append(
                (2 * mu_a * mu_b + c1) * (2 * cov + c2)
                / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
            )
    return np.mean(values)


def test_luminance_uses_bt601_weights():
    pixels = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], dtype=float)
    pixels = np.repeat(pixels, 2, axis=0)
    expected = [0.299 * 255, 0.587 * 255, 0.114 * 255, 0.299 * 10 + 0.587 * 20 + 0.114 * 30]
    np.testing.assert_allclose(luminance(pixels)[0], expected)
    np.testing.assert_array_equal(luminance(pixels[..., 0]), pixels[..., 0])


def test_gaussian_blur_keeps_constants_and_mass():
    np.testing.assert_allclose(gaussian_blur(np.full((9, 7, 3), 42.0), 2.0), 42.0)
    impulse = np.zeros((41, 41))
    impulse[20, 20] = 1.0
    blurred = gaussian_blur(impulse, 3.0)
    assert blurred.sum() == pytest.approx(1.0)
    rows = np.arange(41) - 20
    assert np.sum(blurred.sum(axis=1) * rows**2) == pytest.approx(9.0, rel=1e-3)  # variance σ²
    np.testing.assert_allclose(blurred.sum(axis=0), blurred.sum(axis=1), atol=1e-15)  # isotropic
    only_x = gaussian_blur(impulse, (0.0, 3.0))
    assert only_x[20].sum() == pytest.approx(1.0) and not only_x[19].any()


def test_ssim_matches_window_by_window_reference(scene):
    x = luminance(scene)[20:44, 30:56]
    y = luminance(_noised(scene, 20.0))[20:44, 30:56]
    assert ssim(x, y) == pytest.approx(_reference_ssim(x, y), rel=1e-10)


def test_ssim_of_constant_images_has_closed_form():
    # σ = 0 everywhere: SSIM reduces to the luminance term (2ab + C1) / (a² + b² + C1).
    c1 = (0.01 * 255) ** 2
    assert ssim(np.full((16, 16), 50.0), np.full((16, 16), 50.0)) == pytest.approx(1.0)
    assert ssim(np.full((16, 16), 50.0), np.full((16, 16), 120.0)) == pytest.approx(
        (2 * 50 * 120 + c1) / (50**2 + 120**2 + c1)
    )


def test_identity_is_perfect(scene):
    assert ssim(scene, scene) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "degrade, levels",
    [(gaussian_blur, BLUR_SIGMAS), (_noised, NOISE_LEVELS)],
    ids=["blur", "noise"],
)
def test_ssim_falls_monotonically(scene, degrade, levels):
    scores = [ssim(scene, degrade(scene, level)) for level in levels]
    assert scores[0] < 1.0
    assert np.all(np.diff(scores) < 0), scores


def test_spatially_shuffled_image_scores_worst(scene):
    permutation = np.random.default_rng(1).permutation(scene.shape[0] * scene.shape[1])
    shuffled = scene.reshape(-1, 3)[permutation].reshape(scene.shape)
    worst = min(
        ssim(scene, gaussian_blur(scene, BLUR_SIGMAS[-1])),
        ssim(scene, _noised(scene, NOISE_LEVELS[-1])),
    )
    assert ssim(scene, shuffled) < worst


def test_invalid_inputs_raise(scene):
    with pytest.raises(ValueError, match="same shape"):
        ssim(scene, scene[1:])
    with pytest.raises(ValueError, match="at least 11"):
        ssim(scene[:8, :8], scene[:8, :8])
    broken = scene.copy()
    broken[1, 1, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        ssim(scene, broken)
    with pytest.raises(ValueError, match="RGB"):
        luminance(np.zeros((4, 4, 2)))
