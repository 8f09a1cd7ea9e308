"""Tests for dstyle_tf.tiling: coverage, blending, agreement with untiled runs."""

import keras
import numpy as np
import pytest

from dstyle_tf import tiling
from dstyle_tf.models import TransformNet
from dstyle_tf.models.transform_net import receptive_radius
from dstyle_tf.stylization.stylizers import tile_context


@pytest.mark.parametrize("length, tile, overlap", [(97, 40, 8), (1000, 256, 64), (30, 64, 8), (65, 32, 16)])
def test_tile_spans_cover_aligned_and_overlapping(length, tile, overlap):
    spans = tiling.tile_spans(length, tile, overlap, align=4)

    assert spans[0][0] == 0 and spans[-1][1] == length
    for (start, end), (next_start, _) in zip(spans, spans[1:]):
        assert start % 4 == 0 and next_start % 4 == 0
        assert end - next_start >= overlap  # neighbours overlap
        assert next_start > start
    assert all(end - start <= tile + 3 for start, end in spans)


def test_cross_fade_weights_sum_to_one():
    spans = tiling.tile_spans(200, 64, 16, align=4)
    _, total = tiling.blend_weights(spans, 200)

    np.testing.assert_allclose(total, 1.0, atol=1e-12)


def test_rectangular_tiles_cut_each_side_by_its_own_size(rng):
    image = rng.uniform(0, 255, (60, 150, 3)).astype(np.float32)
    shapes = []

    def fn(tile):
        shapes.append(tile.shape[:2])
        return tile * 0.5 + 3.0

    out = tiling.tiled_apply(image, fn, tile_size=(64, 40), overlap=8, context=8, align=4)

    # Rows fit in one tile: only the columns are cut (into 5 tiles).
    assert len(shapes) == len(tiling.tile_spans(150, 40, 8, align=4)) == 5
    assert all(rows == 60 for rows, _ in shapes)
    np.testing.assert_allclose(out, image * 0.5 + 3.0, rtol=1e-6)
    assert tiling.tile_sides(32) == (32, 32) and tiling.tile_sides((48, 64)) == (48, 64)


def test_per_pixel_function_is_reproduced_exactly(rng):
    image = rng.uniform(0, 255, (97, 131, 3)).astype(np.float32)
    shapes = []

    def fn(tile):
        shapes.append(tile.shape)
        return np.sqrt(tile) * 3.0 + 1.0

    out = tiling.tiled_apply(image, fn, tile_size=40, overlap=8, context=8)

    np.testing.assert_allclose(out, np.sqrt(image) * 3.0 + 1.0, rtol=1e-5)
    # One tile at a time, each at most tile + 2·context (+ alignment slack).
    assert len(shapes) == 12
    assert max(max(shape[:2]) for shape in shapes) <= 40 + 3 + 2 * 8


def test_progress_callback_and_output_channels(rng):
    image = rng.uniform(0, 1, (50, 50, 3)).astype(np.float32)
    calls = []

    out = tiling.tiled_apply(
        image, lambda t: t[..., :1], tile_size=24, overlap=8, context=4,
        on_tile=lambda done, total: calls.append((done, total)),
    )

    assert out.shape == (50, 50, 1)
    assert calls[-1] == (len(calls), len(calls))


def test_tile_offsets_are_cross_faded_without_seams():
    """Tiles that disagree (e.g. different normalisation statistics) blend smoothly."""
    image = np.zeros((64, 200, 1), np.float32)
    counter = iter(range(100))

    def fn(tile):  # each tile returns a different constant
        return np.full(tile.shape, 10.0 * next(counter), np.float32)

    overlap = 32
    out = tiling.tiled_apply(image, fn, tile_size=64, overlap=overlap, context=0)

    steps = np.abs(np.diff(out[0, :, 0]))
    # A hard seam would jump by 10; the cosine ramp spreads it over the overlap.
    assert steps.max() < 10.0 * np.pi / overlap
    assert out.max() > 10.0


def test_tiled_transform_net_matches_untiled(rng):
    keras.utils.set_random_seed(1)
    # Batch norm at inference is local, so with enough context tiling is exact
    # up to float error; instance norm (the default) sees per-tile statistics.
    net = TransformNet(filters=8, num_residual_blocks=1, normalization="batch")
    image = rng.uniform(0, 255, (90, 75, 3)).astype(np.float32)
    full = np.asarray(net(image[None]))[0]

    tiled = tiling.tiled_apply(
        image, lambda tile: np.asarray(net(tile[None]))[0],
        tile_size=40, overlap=16, context=32,
    )

    assert tiled.shape == full.shape
    np.testing.assert_allclose(tiled, full, atol=0.05)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="must exceed overlap"):
        tiling.tile_spans(100, 16, 16, align=4)
    with pytest.raises(ValueError, match="changed the tile size"):
        tiling.tiled_apply(np.zeros((10, 10, 3)), lambda t: t[1:], tile_size=8, overlap=2, context=0)


def test_own_boxes_partition_the_image():
    height, width = 97, 131
    covered = np.zeros((height, width), np.int32)
    for tile in tiling.tile_grid(height, width, 40, 8, 8, align=4):
        top, bottom, left, right = tile.own
        covered[top:bottom, left:right] += 1
        in_top, in_bottom, in_left, in_right = tile.window
        assert in_top <= top and bottom <= in_bottom and in_left <= left and right <= in_right

    np.testing.assert_array_equal(covered, 1)


@pytest.fixture(scope="module")
def instance_net():
    keras.utils.set_random_seed(2)
    return TransformNet(filters=8, num_residual_blocks=1, normalization="instance")


@pytest.mark.parametrize("method", ["exact", "preview"])
def test_tiled_instance_norm_matches_one_pass(instance_net, method, rng):
    from dstyle_tf.models.instance_norm import InstanceNormStatistics
    from export.tflite import psnr

    # Smooth content: what photos look like to the statistics.
    image = np.cumsum(rng.normal(0, 8, (90, 133, 3)), axis=1).astype(np.float32) % 255
    full = np.asarray(instance_net(image[None]))[0]
    tiles = tiling.tile_grid(90, 133, 40, 16, 32, align=4)
    assert len(tiles) > 4

    def tiled(statistics):
        fixed = InstanceNormStatistics(fixed=statistics, record=False)
        return tiling.tiled_apply(
            image, lambda t: np.asarray(instance_net(t[None], statistics=fixed))[0],
            tile_size=40, overlap=16, context=32,
        )

    # "preview" is exact when the image fits the preview size.
    statistics = tiling.instance_norm_statistics(instance_net, image, tiles, method=method)
    per_tile = tiling.tiled_apply(
        image, lambda t: np.asarray(instance_net(t[None]))[0], tile_size=40, overlap=16, context=32
    )

    # Measured: 129 dB (max |diff| 5e-4 on 0-255); per-tile statistics: 22 dB.
    assert psnr(full, tiled(statistics)) > 90.0
    assert psnr(full, per_tile) < 40.0  # what the statistics fix


def test_preview_statistics_are_approximate_for_large_images(instance_net, rng):
    image = np.cumsum(rng.normal(0, 8, (90, 133, 3)), axis=1).astype(np.float32) % 255
    tiles = tiling.tile_grid(90, 133, 40, 16, 32, align=4)
    exact = tiling.instance_norm_statistics(instance_net, image, tiles)
    preview = tiling.instance_norm_statistics(
        instance_net, image, tiles, method="preview", preview_size=64
    )

    assert list(exact) == list(preview)  # every layer, in call order
    first = next(iter(exact))
    assert not np.allclose(exact[first][1], preview[first][1], rtol=1e-3)
    with pytest.raises(ValueError, match="method must be"):
        tiling.instance_norm_statistics(instance_net, image, tiles, method="median")


@pytest.mark.parametrize("upsampling,residual", [
    ("resize_conv", "standard"), ("transpose", "standard"), ("resize_conv", "depthwise"),
])
@pytest.mark.parametrize("blocks", [0, 2])
def test_receptive_radius_is_the_measured_reach(upsampling, residual, blocks, rng):
    import tensorflow as tf

    keras.utils.set_random_seed(3)
    net = TransformNet(filters=4, num_residual_blocks=blocks, normalization="batch",
                       upsampling=upsampling, residual=residual)
    image = tf.constant(rng.uniform(0, 255, (1, 96, 96, 3)).astype(np.float32))
    reach = 0
    for p in range(44, 48):  # every position relative to the stride-4 grid
        with tf.GradientTape() as tape:
            tape.watch(image)
            pixel = tf.reduce_sum(net(image, training=False)[0, p, p])
        seen = np.abs(tape.gradient(pixel, image).numpy()[0]).sum(-1) > 0
        for axis in (0, 1):
            used = np.nonzero(seen.any(axis=1 - axis))[0]
            reach = max(reach, p - used.min(), used.max() - p)

    assert reach == receptive_radius(blocks) == 17 + 8 * blocks


@pytest.fixture(scope="module")
def paper_image():
    rng = np.random.default_rng(5)
    return np.cumsum(rng.normal(0, 8, (172, 168, 3)), axis=1).astype(np.float32) % 255


def _tiled(net, image, context, statistics=None):
    from dstyle_tf.models.instance_norm import InstanceNormStatistics

    fixed = None
    if statistics is not None:
        fixed = InstanceNormStatistics(fixed=statistics, record=False)
    return tiling.tiled_apply(
        image, lambda t: np.asarray(net(t[None], training=False, statistics=fixed))[0],
        tile_size=96, overlap=16, context=context,
    )


@pytest.mark.parametrize("normalization", ["batch", "instance"])
def test_paper_size_network_tiles_exactly(normalization, paper_image):
    """32 filters, 5 residual blocks: tiles with the receptive field's context
    (60) equal the one-pass result; the old 32 pixels did not."""
    from dstyle_tf.models.instance_norm import InstanceNormStatistics

    keras.utils.set_random_seed(4)
    net = TransformNet(filters=32, num_residual_blocks=5, normalization=normalization)
    image = paper_image
    recorder = InstanceNormStatistics()
    full = np.asarray(net(image[None], training=False, statistics=recorder))[0]
    assert 0.5 < np.mean((full > 2) & (full < 253))  # not saturated: differences show
    context = tile_context(5)
    assert context == 60
    tiles = tiling.tile_grid(*image.shape[:2], 96, 16, context, align=4)
    assert len(tiles) == 4  # 2 x 2, windows smaller than the image
    assert all(w[1] - w[0] < image.shape[0] or w[3] - w[2] < image.shape[1]
               for w in (tile.window for tile in tiles))
    # Instance norm: the one-pass run's own statistics isolate the tiling.
    statistics = recorder.moments() if normalization == "instance" else None

    # Measured max |difference| on 0-255: 1.5e-5 (batch), 3e-5 (instance);
    # with 32 pixels of context: 0.06 and 0.9.
    np.testing.assert_allclose(_tiled(net, image, context, statistics), full, atol=2e-4)
    assert np.abs(_tiled(net, image, 32, statistics) - full).max() > 0.02
    if normalization == "instance":
        # Statistics measured tile by tile: equal up to float rounding (1.9e-3).
        measured = tiling.instance_norm_statistics(net, image, tiles)
        np.testing.assert_allclose(_tiled(net, image, context, measured), full, atol=5e-3)


def test_stylizers_tile_with_their_network_receptive_field(tmp_path):
    from dstyle_tf import stylize
    from dstyle_tf.stylization.stylizers import KerasStylizer
    from dstyle_tf.stylization.stylizers import Stylizer

    net = TransformNet(filters=4, num_residual_blocks=1)
    net.build()
    net.save(tmp_path / "net.keras")
    assert KerasStylizer(tmp_path / "net.keras").context == 28  # 25, aligned to 4
    assert Stylizer().context == 60  # exported models: the paper network's

    shapes = []

    class Recording(Stylizer):
        context = 12

        def __call__(self, tile):
            shapes.append(tile.shape[:2])
            return tile

    stylize.stylize_image(np.zeros((100, 100, 3), np.float32), Recording(),
                          tile_size=40, tile_overlap=8)
    expected = [
        (w[1] - w[0], w[3] - w[2]) for w in
        (tile.window for tile in tiling.tile_grid(100, 100, 40, 8, 12, align=4))
    ]
    assert shapes == expected
