"""Gram and content distances, and the per-pair summary / folder aggregate."""

import numpy as np
import pytest

from dstyle_tf.metrics import METRIC_DIRECTIONS
from dstyle_tf.metrics import aggregate
from dstyle_tf.metrics import structure_metrics
from dstyle_tf.metrics import style_metrics as sm
from dstyle_tf.metrics.image_quality import gaussian_blur


def pooled_features(batch):
    """A stand-in feature extractor: named taps at 1/1, 1/2, 1/4 and 1/8 resolution."""
    batch = np.asarray(batch, dtype=np.float64) / 255.0
    taps = {}
    for level, name in enumerate(sm.STYLE_LAYERS):
        b, h, w, c = batch.shape
        pooled = batch[:, : h // 2**level * 2**level, : w // 2**level * 2**level]
        pooled = pooled.reshape(b, h // 2**level, 2**level, w // 2**level, 2**level, c).mean((2, 4))
        taps[name] = np.concatenate([pooled, np.maximum(pooled - 0.5, 0)], axis=-1)
    return taps


@pytest.fixture(scope="module")
def photo():
    rows, cols = np.mgrid[0:48, 0:64].astype(np.float64)
    image = np.stack([3 * cols, 4 * rows, 255 - 3 * cols], axis=-1)
    image[10:30, 12:40] = (250, 240, 20)
    image[(rows - 32) ** 2 + (cols - 48) ** 2 < 81] = (10, 30, 200)
    return image


def test_gram_matrix_matches_explicit_sums():
    features = np.random.default_rng(0).normal(size=(3, 5, 4))
    expected = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            expected[i, j] = np.sum(features[..., i] * features[..., j]) / (4 * 3 * 5)
    # float32, as the training loss computes it.
    np.testing.assert_allclose(sm.gram_matrix(features), expected, rtol=1e-5, atol=1e-7)


def test_distances_are_zero_on_identity_and_follow_design_formulas(photo):
    features = sm.features_of(pooled_features, photo)
    assert features["relu1_2"].shape == (48, 64, 6) and features["relu4_3"].shape == (6, 8, 6)
    grams = sm.gram_matrices(features)
    assert sm.gram_distance(features, grams) == 0.0
    assert sm.content_distance(features, features) == 0.0
    other = sm.features_of(pooled_features, photo[::-1] * 0.7)
    expected = sum(
        np.mean((sm.gram_matrix(other[name]) - grams[name]) ** 2) for name in sm.STYLE_LAYERS
    )
    assert sm.gram_distance(other, grams) == pytest.approx(expected)
    assert sm.content_distance(other, features) == pytest.approx(
        np.mean((other["relu2_2"] - features["relu2_2"]) ** 2)
    )


def test_distances_grow_with_noise(photo):
    extract = pooled_features
    grams = sm.gram_matrices(sm.features_of(extract, photo))
    noise = np.random.default_rng(0).normal(size=photo.shape)
    scores = [
        sm.style_strength(photo, np.clip(photo + level * noise, 0, 255), extract, grams)
        for level in (10.0, 40.0, 100.0)
    ]
    for name in ("gram_distance", "content_distance"):
        assert np.all(np.diff([s[name] for s in scores]) > 0), scores


def test_missing_or_mismatched_layers_raise(photo):
    features = sm.features_of(pooled_features, photo)
    grams = sm.gram_matrices(features)
    with pytest.raises(ValueError, match="relu4_3"):
        sm.gram_distance({k: v for k, v in features.items() if k != "relu4_3"}, grams)
    with pytest.raises(ValueError, match="same shape"):
        sm.gram_distance(features, {"relu1_2": np.eye(3)})
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        sm.gram_matrix(np.ones((4, 4)))


def test_numpy_distances_equal_the_training_losses_on_vgg_features(vgg, photo):
    """Same definitions as dstyle_tf.losses, so evaluation numbers match training logs."""
    from dstyle_tf import losses

    style_image = np.random.default_rng(3).uniform(0, 255, (40, 40, 3))
    stylized = gaussian_blur(photo, 1.0)
    grams = sm.gram_matrices(sm.features_of(vgg, style_image))
    scores = sm.style_strength(photo, stylized, vgg, grams)
    out = vgg(stylized[None].astype(np.float32))
    target = vgg(photo[None].astype(np.float32))
    style_loss = losses.style_loss(
        [out[name] for name in sm.STYLE_LAYERS], [grams[name][None] for name in sm.STYLE_LAYERS]
    )
    content_loss = losses.content_loss(out["relu2_2"], target["relu2_2"])
    assert scores["gram_distance"] == pytest.approx(float(style_loss), rel=1e-4)
    assert scores["content_distance"] == pytest.approx(float(content_loss), rel=1e-4)


def test_structure_metrics_of_identity_are_all_perfect(photo):
    depth = np.linspace(1, 9, 48)[:, None] + np.zeros((48, 64))
    depth[10:30, 12:40] = 2.0
    results = structure_metrics(photo, photo, depth, 2 * depth + 1)
    perfect = {"higher": 1.0, "lower": 0.0}
    assert set(results) <= set(METRIC_DIRECTIONS)
    assert len(results) == 11
    for name, value in results.items():
        assert value == pytest.approx(perfect[METRIC_DIRECTIONS[name]], abs=1e-8), name
    assert "depth_whdr" not in structure_metrics(photo, photo)
    with pytest.raises(ValueError, match="both depth maps"):
        structure_metrics(photo, photo, depth_photo=depth)


def test_structure_metrics_all_worse_for_shuffled_image(photo):
    permutation = np.random.default_rng(0).permutation(48 * 64)
    shuffled = photo.reshape(-1, 3)[permutation].reshape(photo.shape)
    perfect = structure_metrics(photo, photo)
    worse = structure_metrics(photo, shuffled)
    for name in ("edge_f1", "edge_precision", "saliency_cc", "saliency_sim", "ssim"):
        assert worse[name] < perfect[name], name
    for name in ("edge_spurious", "saliency_kl"):
        assert worse[name] > perfect[name], name


def test_aggregate_statistics():
    rows = [
        {"image": "a.jpg", "ssim": 0.5, "edge_f1": 0.2},
        {"image": "b.jpg", "ssim": 0.7, "edge_f1": float("nan")},
        {"image": "c.jpg", "ssim": np.float32(0.9)},
    ]
    table = aggregate(rows)
    assert list(table) == ["ssim", "edge_f1"]
    expected = {"mean": 0.7, "std": np.std([0.5, 0.7, 0.9]), "median": 0.7}
    expected.update({"min": 0.5, "max": 0.9, "count": 3})
    assert table["ssim"] == pytest.approx(expected)
    assert table["edge_f1"]["count"] == 1 and table["edge_f1"]["std"] == 0.0
    assert aggregate([]) == {}
