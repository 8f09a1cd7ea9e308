"""Tests for dstyle_tf.image_io: EXIF-aware loading, modes, atomic saving."""

import os

import numpy as np
import pytest
from PIL import Image

from dstyle_tf import image_io

_ORIENTATION = 0x0112


def _save_with_orientation(path, array, orientation):
    image = Image.fromarray(array)
    exif = image.getexif()
    exif[_ORIENTATION] = orientation
    image.save(path, exif=exif.tobytes(), quality=95)


def test_exif_orientation_is_applied(tmp_path):
    # Stored 40 wide x 20 high, red block at the stored top-left.
    stored = np.full((20, 40, 3), 255, np.uint8)
    stored[:8, :8] = (255, 0, 0)
    path = tmp_path / "rotated.jpg"
    _save_with_orientation(path, stored, orientation=6)  # display rotated 90° CW

    image = image_io.load_image(path)

    assert image.shape == (40, 20, 3) and image.dtype == np.float32
    # 90° clockwise: the stored top-left corner is shown at the top-right.
    assert image[2, -3, 0] > 200 and image[2, -3, 1] < 60
    assert image[-3, 2].min() > 200


@pytest.mark.parametrize(
    "mode, make, expected_pixel",
    [
        ("L", lambda: np.full((9, 7), 100, np.uint8), (100, 100, 100)),
        ("RGBA", lambda: np.dstack([np.zeros((9, 7, 3), np.uint8), np.zeros((9, 7), np.uint8)]), (255, 255, 255)),
        ("I;16", lambda: np.full((9, 7), 65535, np.uint16), (255, 255, 255)),
    ],
)
def test_modes_become_rgb(tmp_path, mode, make, expected_pixel):
    path = tmp_path / f"image_{mode.replace(';', '')}.png"
    Image.fromarray(make()).save(path)

    image = image_io.load_image(path)

    assert image.shape == (9, 7, 3)
    np.testing.assert_allclose(image[4, 3], expected_pixel, atol=1)


def test_palette_and_cmyk_become_rgb(tmp_path):
    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[:, 6:] = (0, 0, 255)
    Image.fromarray(rgb).convert("P").save(tmp_path / "palette.png")
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=100)

    palette = image_io.load_image(tmp_path / "palette.png")
    cmyk = image_io.load_image(tmp_path / "cmyk.jpg")

    np.testing.assert_array_equal(palette, rgb.astype(np.float32))
    assert cmyk.shape == (10, 12, 3)
    assert cmyk[5, 9, 2] > 200 and cmyk[5, 2].max() < 60


def test_max_size_downscales_keeping_aspect(tmp_path):
    Image.new("RGB", (301, 150), (10, 20, 30)).save(tmp_path / "wide.png")

    image = image_io.load_image(tmp_path / "wide.png", max_size=100)
    unchanged = image_io.load_image(tmp_path / "wide.png", max_size=1000)

    assert image.shape == (50, 100, 3)
    assert unchanged.shape == (150, 301, 3)


@pytest.mark.parametrize("content", [b"hello, not an image", b"\xff\xd8\xff\xe0 truncated"])
def test_unreadable_files_raise_clear_error(tmp_path, content):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)

    with pytest.raises(image_io.ImageReadError, match="bad.jpg: not a readable image"):
        image_io.load_image(path)


def test_missing_file_and_directory_raise_clear_error(tmp_path):
    with pytest.raises(image_io.ImageReadError, match="no such file"):
        image_io.load_image(tmp_path / "missing.png")
    with pytest.raises(image_io.ImageReadError, match="is a directory"):
        image_io.load_image(tmp_path)


def test_save_png_round_trips_exactly(tmp_path, rng):
    image = rng.uniform(0, 255, (13, 17, 3)).astype(np.float32)

    image_io.save_image(tmp_path / "out.png", image)

    np.testing.assert_array_equal(
        image_io.load_image(tmp_path / "out.png"), np.round(image)
    )
    assert os.listdir(tmp_path) == ["out.png"]  # no temporary file left


def test_save_jpeg_and_clipping(tmp_path):
    image = np.full((16, 16, 3), 300.0, np.float32)
    image[:, :8] = -20.0

    image_io.save_image(tmp_path / "out.jpeg", image, jpeg_quality=95)

    loaded = image_io.load_image(tmp_path / "out.jpeg")
    assert loaded[:, :6].max() < 10 and loaded[:, 10:].min() > 245


def test_save_rejects_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match="cannot write '.tif'"):
        image_io.save_image(tmp_path / "out.tif", np.zeros((4, 4, 3)))


def test_failed_save_leaves_existing_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "keep.png"
    Image.new("RGB", (5, 5), (1, 2, 3)).save(path)
    before = path.read_bytes()

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        image_io.save_image(path, np.zeros((5, 5, 3)))

    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["keep.png"]


def test_saved_image_is_readable_by_others_like_a_plain_write(tmp_path):
    umask = os.umask(0o022)
    try:
        image_io.save_image(tmp_path / "shared.png", np.zeros((4, 4, 3)))
    finally:
        os.umask(umask)
    assert os.stat(tmp_path / "shared.png").st_mode & 0o777 == 0o644


def test_load_image_to_a_size_crops_the_centre_to_its_aspect(tmp_path):
    # Left third red, middle third green, right third blue: a square crop of
    # the 90x30 image is the green middle.
    array = np.zeros((30, 90, 3), np.uint8)
    array[:, :30, 0] = array[:, 30:60, 1] = array[:, 60:, 2] = 255
    Image.fromarray(array).save(tmp_path / "bands.png")

    image = image_io.load_image(tmp_path / "bands.png", size=(10, 10))

    assert image.shape == (10, 10, 3)
    np.testing.assert_allclose(image[:, 2:-2], np.broadcast_to([0, 255, 0], (10, 6, 3)), atol=1)
    stretched = image_io.load_image(tmp_path / "bands.png", size=(10, 30))
    assert stretched[5, 2, 0] > 250 and stretched[5, 27, 2] > 250
