"""Flicker: warping error on synthetic clips whose true answer is known."""

import numpy as np
import pytest

from dstyle_tf.evaluation.runner import Method
from dstyle_tf.evaluation.temporal import flicker_rows
from dstyle_tf.metrics import METRIC_DIRECTIONS
from dstyle_tf.metrics import flicker
from dstyle_tf.metrics import synthetic_clip
from dstyle_tf.metrics import warp
from dstyle_tf.metrics import warping_error
from dstyle_tf.metrics.temporal import valid_mask

NOISE = 2.0
NOISE_FLOOR = 2 * (NOISE / 255) ** 2  # E of two independent noisy copies of one frame


@pytest.fixture(scope="module")
def photo():
    """A smooth, colourful scene with detail at several scales, 48×64."""
    rows, cols = np.mgrid[0:48, 0:64].astype(np.float64)
    return np.stack(
        [
            128 + 60 * np.sin(rows / 5.0) * np.cos(cols / 7.0),
            128 + 50 * np.cos(rows / 3.0 + cols / 9.0),
            40 + 2.5 * cols + 20 * np.sin(rows / 4.0),
        ],
        axis=-1,
    )


def test_static_scene_gives_the_noise_floor(photo):
    frames, motions = synthetic_clip(photo, 6, noise=NOISE, max_shift=0, max_zoom=0, seed=3)
    for motion in motions:
        np.testing.assert_allclose(motion, np.eye(3), atol=1e-12)
    assert warping_error(frames, motions) == pytest.approx(NOISE_FLOOR, rel=0.05)


def test_noise_free_static_scene_has_no_error(photo):
    frames, motions = synthetic_clip(photo, 3, noise=0, max_shift=0, max_zoom=0)
    assert warping_error(frames, motions) < 1e-20


@pytest.mark.parametrize(
    "stand_in",
    [lambda x: x, lambda x: 255.0 - 0.5 * x, lambda x: 255.0 * (x / 255.0) ** 2.2],
    ids=["identity", "invert", "gamma"],
)
def test_equivariant_stand_in_has_no_flicker_on_a_noise_free_clip(photo, stand_in):
    frames, motions = synthetic_clip(photo, 6, noise=0, seed=1)
    assert any(np.abs(m[:2, 2]).max() > 0.1 for m in motions)  # The camera does move.
    stylized = np.stack([stand_in(frame) for frame in frames])
    error = warping_error(stylized, motions)
    assert error < 1e-3 * NOISE_FLOOR
    # Without undoing the motion, the same frames differ far more.
    assert warping_error(stylized, [np.eye(3)] * len(motions)) > 100 * error


def test_warp_undoes_a_known_subpixel_shift_in_the_interior(photo):
    shift = np.array([0.37, -0.61])
    rows, cols = np.mgrid[0:48, 0:64].astype(np.float64)
    # The same smooth scene sampled on a grid shifted by `shift`: exact values.
    shifted = np.stack(
        [128 + 60 * np.sin((rows + shift[0]) / 5.0) * np.cos((cols + shift[1]) / 7.0)], -1
    )
    motion = np.eye(3)
    motion[:2, 2] = shift
    warped = warp(photo[..., :1], motion)
    interior = (slice(4, -4), slice(4, -4))
    assert np.abs(warped[interior] - shifted[interior]).max() < 0.05  # of 255
    assert np.abs(photo[..., :1][interior] - shifted[interior]).max() > 5  # a real move


def test_warp_matches_the_clip_motion(photo):
    frames, motions = synthetic_clip(photo, 4, noise=0, max_zoom=0.03, seed=2)
    for t, motion in enumerate(motions):
        mask = valid_mask(frames[t].shape, motion)
        assert mask.mean() > 0.6
        assert np.abs(warp(frames[t], motion) - frames[t + 1])[mask].max() < 0.5


def test_valid_mask_excludes_pixels_sampled_from_outside():
    motion = np.eye(3)
    motion[:2, 2] = (3.5, -2.0)  # out[q] = in[q + (3.5, -2)]
    mask = valid_mask((20, 30), motion, border=0)
    expected = np.zeros((20, 30), bool)
    expected[:16, 2:] = True  # rows 0..15 read rows ≤ 18.5; columns ≥ 2 read columns ≥ 0
    np.testing.assert_array_equal(mask, expected)


def test_random_stylisation_flickers_much_more_than_identity(photo):
    rng = np.random.default_rng(0)
    steady = flicker(lambda x: x, photo, num_frames=5, noise=NOISE)
    noisy = flicker(lambda x: np.clip(x + rng.normal(0, 20, x.shape), 0, 255), photo, num_frames=5)
    assert steady["flicker_ratio"] == pytest.approx(1.0)
    assert steady["flicker_input_error"] == noisy["flicker_input_error"]  # Same seeded clip.
    assert noisy["flicker_ratio"] > 20
    assert noisy["flicker_warp_error"] > 20 * steady["flicker_warp_error"]


def test_clip_is_reproducible_and_stays_in_range(photo):
    a, motions_a = synthetic_clip(photo, 3, seed=5)
    b, motions_b = synthetic_clip(photo, 3, seed=5)
    c, _ = synthetic_clip(photo, 3, seed=6)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(motions_a, motions_b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.float32 and a.min() >= 0 and a.max() <= 255
    assert a.shape == (3, 38, 51, 3)  # 10% margin on every side


def test_bad_arguments_are_one_line_errors(photo):
    with pytest.raises(ValueError, match="at least 2"):
        synthetic_clip(photo, 1)
    with pytest.raises(ValueError, match="RGB"):
        synthetic_clip(photo[..., 0], 3)
    frames, motions = synthetic_clip(photo, 3)
    with pytest.raises(ValueError, match="motions"):
        warping_error(frames, motions[:1])
    with pytest.raises(ValueError, match="shape"):
        flicker(lambda x: x[:-1], photo, num_frames=2)


def test_flicker_rows_measure_models_and_skip_optimisation(photo):
    methods = [
        Method("identity", lambda x: x),
        Method("gatys", lambda x: pytest.fail("optimisation must not run"), kind="optimize"),
    ]
    rows = flicker_rows(methods, [("a.png", photo)], num_frames=3)
    assert [(r["image"], r["model"]) for r in rows] == [("a.png", "identity"), ("a.png", "gatys")]
    assert rows[0]["flicker_ratio"] == pytest.approx(1.0)
    assert np.isnan(rows[1]["flicker_warp_error"])
    for name in ("flicker_warp_error", "flicker_ratio"):
        assert METRIC_DIRECTIONS[name] == "lower"
