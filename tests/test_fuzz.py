"""Property-based fuzzing of every image decoding path (hypothesis).

Random bytes, truncated and bit-flipped real files, and odd shapes must give
either a valid RGB image or the path's documented error — never a crash, a
hang or garbage.
"""

import io

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from PIL import Image

from dstyle_tf import data as data_lib
from dstyle_tf import image_io
from dstyle_tf.models import TransformNet
from export import saved_model

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _encoded(fmt, seed=0, size=(12, 17)):
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (*size, 3), np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


SEEDS = {"JPEG": _encoded("JPEG"), "PNG": _encoded("PNG"), "GIF": _encoded("GIF")}


@st.composite
def damaged_files(draw):
    """Random bytes, or a real file truncated and/or with flipped bytes."""
    if draw(st.booleans()):
        return draw(st.binary(min_size=0, max_size=300))
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    cut = draw(st.integers(0, len(data)))
    data = data[: max(cut, draw(st.integers(0, len(data))))]
    for _ in range(draw(st.integers(0, 4))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def _check_rgb(image):
    assert image.ndim == 3 and image.shape[2] == 3 and min(image.shape[:2]) >= 1
    assert np.all(np.isfinite(np.asarray(image, np.float64)))


@FUZZ
@given(damaged_files())
def test_load_image_reads_or_raises_image_read_error(tmp_path, data):
    path = tmp_path / "fuzz.img"
    path.write_bytes(data)
    try:
        image = image_io.load_image(str(path))
    except image_io.ImageReadError:
        return
    _check_rgb(image)
    assert image.dtype == np.float32 and image.min() >= 0 and image.max() <= 255
    assert path.read_bytes() == data  # the input is never modified


@FUZZ
@given(damaged_files(), st.integers(1, 64))
def test_training_decoder_reads_or_raises_image_read_error(tmp_path, data, size):
    path = tmp_path / "fuzz.jpg"
    path.write_bytes(data)
    try:
        image = data_lib.read_training_image(str(path), size)
    except image_io.ImageReadError:
        return
    _check_rgb(image)
    assert image.dtype == np.uint8


@FUZZ
@given(st.integers(0, 3), st.integers(1, 40), st.integers(1, 40))
def test_training_resize_gives_the_configured_shape(seed, height, width):
    image = np.random.default_rng(seed).integers(0, 255, (height, width, 3), np.uint8)
    for mode in data_lib.RESIZE_MODES:
        out = data_lib.resize_image(image, 16, mode, seed=tf.constant([seed, 0], tf.int64))
        assert out.shape == (16, 16, 3)
        assert float(tf.reduce_min(out)) >= 0 and float(tf.reduce_max(out)) <= 255


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    net = TransformNet(filters=4, num_residual_blocks=1)
    net.build()
    path = str(tmp_path_factory.mktemp("sm") / "1")
    saved_model.save(net, path, max_pixels=64 * 64)
    return tf.saved_model.load(path).signatures["serving_bytes"]


@settings(max_examples=40, deadline=None)
@given(damaged_files())
def test_serving_bytes_refuses_bad_bytes_and_keeps_serving(served, data):
    try:
        out = served(image_bytes=tf.constant([data]))["png_bytes"]
    except tf.errors.InvalidArgumentError:
        pass
    else:
        decoded = tf.io.decode_png(out[0]).numpy()
        _check_rgb(decoded)
    # A good request still works after any bad one.
    good = served(image_bytes=tf.constant([SEEDS["PNG"]]))["png_bytes"]
    assert tf.io.decode_png(good[0]).shape == (12, 17, 3)


def test_serving_refuses_a_decompression_bomb_cheaply(served):
    header = bytearray(_encoded("PNG", size=(8, 8)))
    header[16:24] = (50_000).to_bytes(4, "big") * 2  # declared 50000×50000
    with pytest.raises(tf.errors.InvalidArgumentError):
        served(image_bytes=tf.constant([bytes(header)]))
