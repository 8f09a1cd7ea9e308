"""Canny and edge matching on generated scenes with known edges."""

import numpy as np
import pytest

from dstyle_tf.metrics import edges
from dstyle_tf.metrics.edges import canny
from dstyle_tf.metrics.edges import edge_preservation
from dstyle_tf.metrics.edges import edge_scores
from dstyle_tf.metrics.image_quality import gaussian_blur

# Canny adapts its thresholds to each image, so mild noise barely moves it and
# the ladders start where the scene's detail begins to suffer (with
# sub-pixel non-maximum suppression every edge survives a σ = 1 blur within
# the 2-pixel tolerance).
BLUR_SIGMAS = (1.5, 2.0, 2.5)
NOISE_LEVELS = (40.0, 80.0, 120.0)


@pytest.fixture(scope="module")
def scene():
    """Shapes with coarse and fine detail: a block, a disk, thin bars, a checker patch."""
    rows, cols = np.mgrid[0:128, 0:128].astype(np.float64)
    image = np.stack([60 + 0.4 * cols, 70 + 0.3 * rows, np.full_like(rows, 90.0)], axis=-1)
    image[10:50, 10:60] = (240, 200, 60)
    image[(rows - 90) ** 2 + (cols - 40) ** 2 < 22**2] = (10, 10, 50)
    bars = ((cols - 75) % 6 < 2) & (cols >= 75) & (cols < 120) & (rows >= 10) & (rows < 60)
    image[bars] = 220  # 2 px wide, 4 px apart: the first detail blur erases
    checker = ((rows // 6 + cols // 6) % 2 == 0) & (rows >= 75) & (rows < 115)
    image[checker & (cols >= 75) & (cols < 117)] = 20
    return image


def _noised(image, level):
    noise = np.random.default_rng(0).normal(size=image.shape)
    return np.clip(image + level * noise, 0, 255)


def _ladder(scene, degrade, levels):
    return [edge_preservation(scene, degrade(scene, level)) for level in levels]


def _strictly(values, direction):
    steps = np.diff(values)
    return bool(np.all(steps < 0) if direction == "decreasing" else np.all(steps > 0))


def test_step_edge_is_found_one_pixel_wide_where_it_is():
    image = np.zeros((40, 50))
    image[:, 25:] = 200.0
    found = canny(image)
    columns = np.unique(np.nonzero(found)[1])
    assert found[5:-5].sum(axis=1).tolist() == [1] * 30  # one pixel per row
    assert set(columns) <= {24, 25}


def test_flat_image_has_no_edges():
    assert not canny(np.full((32, 32, 3), 128.0)).any()


def test_thresholds_follow_the_image_so_contrast_and_brightness_do_not_matter(scene):
    found = canny(scene)
    np.testing.assert_array_equal(canny(0.25 * scene - 7.0), found)
    np.testing.assert_array_equal(canny(2.0 * scene + 50.0), found)


def test_faint_ripples_on_flat_ground_are_not_edges():
    # Edges cover far less than 15 % of this image, so the 0.85 quantile lands
    # on the ripples; the floor at a tenth of the strongest gradient keeps
    # them out, and without it they would be edges.
    rows, cols = np.mgrid[0:64, 0:64]
    image = 100 + 0.5 * np.sin(cols / 1.5) * np.sin(rows / 2.0)
    image[28:36, 28:36] = 200.0
    far = np.ones(image.shape, bool)
    far[22:42, 22:42] = False
    assert canny(image).sum() >= 28 and not canny(image)[far].any()
    assert canny(image, min_high_fraction=0.0)[far].sum() > 500


def test_dilate_is_a_euclidean_disk():
    point = np.zeros((9, 9), bool)
    point[4, 4] = True
    rows, cols = np.mgrid[0:9, 0:9]
    for radius in (0, 1, 2, 3):
        disk = (rows - 4) ** 2 + (cols - 4) ** 2 <= radius**2
        np.testing.assert_array_equal(edges.dilate(point, radius), disk)
    assert not edges.dilate(np.zeros((5, 5), bool), 2).any()


def test_edge_scores_by_hand():
    reference = np.zeros((20, 20), dtype=bool)
    reference[10, 2:18] = True  # 16 px
    found = np.zeros_like(reference)
    found[12, 2:10] = True  # 8 px, 2 px off: matched within tolerance 2
    found[3, 2:6] = True  # 4 px, spurious
    scores = edge_scores(reference, found, tolerance=2)
    assert scores["precision"] == pytest.approx(8 / 12)
    assert scores["recall"] == pytest.approx(8 / 16)
    assert scores["f1"] == pytest.approx(2 * (8 / 12) * 0.5 / (8 / 12 + 0.5))
    assert scores["spurious"] == pytest.approx(4 / 12)
    assert edge_scores(reference, found, tolerance=1)["recall"] == 0.0


def test_empty_edge_maps():
    empty, some = np.zeros((8, 8), bool), np.eye(8, dtype=bool)
    perfect = {"precision": 1.0, "recall": 1.0, "f1": 1.0, "spurious": 0.0}
    assert edge_scores(empty, empty) == perfect
    assert edge_scores(some, empty)["f1"] == 0.0


def test_identity_is_perfect(scene):
    assert canny(scene).sum() > 500
    assert edge_preservation(scene, scene) == {
        "precision": 1.0, "recall": 1.0, "f1": 1.0, "spurious": 0.0,
    }


def test_blur_loses_edges_monotonically(scene):
    # Blur removes detail: recall and F1 fall. It adds no new edges, so
    # precision is not expected to move much.
    ladder = _ladder(scene, gaussian_blur, BLUR_SIGMAS)
    assert ladder[0]["f1"] < 1.0
    for name in ("recall", "f1"):
        assert _strictly([s[name] for s in ladder], "decreasing"), ladder


def test_noise_adds_spurious_edges_monotonically(scene):
    ladder = _ladder(scene, _noised, NOISE_LEVELS)
    assert ladder[0]["f1"] < 1.0
    for name in ("precision", "f1"):
        assert _strictly([s[name] for s in ladder], "decreasing"), ladder
    assert _strictly([s["spurious"] for s in ladder], "increasing"), ladder


def test_spatially_shuffled_image_scores_worst(scene):
    permutation = np.random.default_rng(1).permutation(scene.shape[0] * scene.shape[1])
    shuffled = edge_preservation(scene, scene.reshape(-1, 3)[permutation].reshape(scene.shape))
    for degraded in (gaussian_blur(scene, BLUR_SIGMAS[-1]), _noised(scene, NOISE_LEVELS[-1])):
        scores = edge_preservation(scene, degraded)
        assert shuffled["f1"] < scores["f1"] and shuffled["spurious"] > scores["spurious"]


def test_invalid_inputs_raise(scene):
    with pytest.raises(ValueError, match="same shape"):
        edge_preservation(scene, scene[:-1])
    broken = scene.copy()
    broken[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        canny(broken)
    with pytest.raises(ValueError, match="RGB"):
        canny(np.zeros((8, 8, 4)))


def test_thin_edges_of_a_thick_probability_band():
    from dstyle_tf.metrics.edges import learned_edge_preservation
    from dstyle_tf.metrics.edges import thin_edges

    probability = np.zeros((40, 40))
    probability[10:30, 18:23] = 0.9  # a 5-pixel-wide vertical band
    edges = thin_edges(probability)
    rows = edges[12:28]
    assert rows.any(axis=1).all() and (rows.sum(axis=1) == 1).all()
    assert not thin_edges(probability, threshold=0.95).any()
    shifted = np.roll(probability, 1, axis=1)
    scores = learned_edge_preservation(probability, shifted)
    assert scores["f1"] == 1.0  # one pixel off is within the 2-pixel tolerance
    far = np.roll(probability, 10, axis=1)
    assert learned_edge_preservation(probability, far)["f1"] == 0.0
