"""Input pipelines: synthetic, image folders and TFDS (mock data)."""

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from dstyle_tf import data as data_lib
from dstyle_tf import image_io
from dstyle_tf.errors import UserError

from conftest import smoke_config


def _batches(dataset, n):
    return [b.numpy() for b in dataset.take(n)]


def _check_batch(batch, batch_size, size):
    assert batch.shape == (batch_size, size, size, 3) and batch.dtype == np.float32
    assert batch.min() >= 0 and batch.max() <= 255


def test_synthetic_images_have_structure():
    images = data_lib.synthetic_images(3, 32, seed=0)
    assert images.shape == (3, 32, 32, 3)
    # Not flat: edges and gradients to preserve.
    assert all(np.std(img) > 10 for img in images)
    np.testing.assert_array_equal(images, data_lib.synthetic_images(3, 32, seed=0))


def test_synthetic_dataset_batches_and_repeats():
    config = smoke_config(data__num_images=3, data__batch_size=2, data__image_size=24).data
    batches = _batches(data_lib.make_dataset(config), 5)  # more than the pool
    for batch in batches:
        _check_batch(batch, 2, 24)


def _write_images(folder, rng):
    (folder / "a" / "b").mkdir(parents=True)
    Image.fromarray(rng.integers(0, 255, (40, 60, 3), np.uint8)).save(folder / "one.jpg")
    Image.fromarray(rng.integers(0, 255, (50, 30, 3), np.uint8)).save(folder / "a" / "two.PNG")
    Image.fromarray(rng.integers(0, 255, (33, 33), np.uint8)).save(folder / "a" / "b" / "gray.png")
    (folder / "notes.txt").write_text("not an image")


def test_folder_dataset_is_recursive_and_resizes(tmp_path, rng):
    _write_images(tmp_path, rng)
    files = data_lib.list_image_files(str(tmp_path))
    assert [f.split("/")[-1] for f in files] == ["gray.png", "two.PNG", "one.jpg"]
    for mode in data_lib.RESIZE_MODES:
        config = smoke_config(
            data__source="folder", data__folder=str(tmp_path), data__batch_size=2,
            data__image_size=32, data__resize=mode,
        ).data
        for batch in _batches(data_lib.make_dataset(config), 3):
            _check_batch(batch, 2, 32)


def test_folder_dataset_skips_unreadable_files(tmp_path, rng):
    _write_images(tmp_path, rng)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    config = smoke_config(
        data__source="folder", data__folder=str(tmp_path), data__batch_size=3, data__image_size=16
    ).data
    for batch in _batches(data_lib.make_dataset(config), 4):
        _check_batch(batch, 3, 16)


def test_empty_or_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="No images"):
        data_lib.list_image_files(str(tmp_path))
    with pytest.raises(UserError, match="not found"):
        data_lib.list_image_files(str(tmp_path / "missing"))


def test_resize_keeps_aspect_with_center_crop():
    image = np.zeros((20, 40, 3), np.uint8)
    image[:, 10:30] = 255  # the central half is white
    out = data_lib.resize_image(image, 20, "center_crop").numpy()
    assert out.shape == (20, 20, 3) and out.min() > 250  # only the white middle remains
    squashed = data_lib.resize_image(image, 20, "resize").numpy()
    assert squashed.min() < 5  # the black sides are kept, squashed


def test_same_seed_same_batches():
    config = smoke_config(data__image_size=16, data__num_images=8).data
    a = _batches(data_lib.make_dataset(config, seed=3), 3)
    b = _batches(data_lib.make_dataset(config, seed=3), 3)
    np.testing.assert_array_equal(np.stack(a), np.stack(b))


def test_tfds_coco_with_mock_data():
    config = smoke_config(data__source="tfds", data__batch_size=2, data__image_size=32).data
    with tfds.testing.mock_data(num_examples=4):
        batches = _batches(data_lib.make_dataset(config), 3)
    for batch in batches:
        _check_batch(batch, 2, 32)


def test_unknown_source_is_rejected():
    config = smoke_config(data__source="imagenet").data
    with pytest.raises(UserError, match="Unknown data.source"):
        data_lib.make_dataset(config)


def _messy_folder(folder, rng):
    """Every kind of file a user's photo folder holds."""
    folder.mkdir(exist_ok=True)
    rgb = rng.integers(0, 255, (48, 64, 3), np.uint8)
    Image.fromarray(rgb).save(folder / "good.jpg")
    good = (folder / "good.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (folder / "garbage.jpg").write_bytes(rng.integers(0, 255, 500, np.uint8).tobytes())
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("hello, not a picture")
    Image.fromarray(rgb[..., 0]).save(folder / "gray.png")
    Image.fromarray(rgb).convert("P").save(folder / "palette.png")
    Image.fromarray(np.dstack([rgb, rgb[..., :1]])).save(folder / "rgba.png")
    Image.fromarray((rgb[..., 0].astype(np.uint16) * 257)).save(folder / "sixteen.png")
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg")
    frames = [Image.fromarray(rgb), Image.fromarray(255 - rgb)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:])
    Image.fromarray(rgb[:5, :7]).save(folder / "tiny.png")
    Image.fromarray(rng.integers(0, 255, (1500, 2000, 3), np.uint8)).save(folder / "large.jpg")
    return {"truncated.jpg", "garbage.jpg", "empty.png", "text.png"}


def test_messy_folder_uses_good_images_and_reports_bad_ones(tmp_path, rng):
    bad = _messy_folder(tmp_path / "photos", rng)
    config = smoke_config(
        data__source="folder", data__folder=str(tmp_path / "photos"), data__batch_size=3,
        data__image_size=32, data__shuffle_buffer=4,
    ).data
    skipped = data_lib.SkippedFiles()
    dataset = data_lib.make_dataset(config, skipped=skipped)
    # 9 usable files: three passes over the folder.
    for batch in _batches(dataset, 9):
        _check_batch(batch, 3, 32)
    assert {os.path.basename(p) for p in skipped.reasons} == bad
    assert all(reason for reason in skipped.reasons.values())


def test_every_usable_mode_decodes_to_rgb(tmp_path, rng):
    bad = _messy_folder(tmp_path, rng)
    for path in sorted(tmp_path.iterdir()):
        if path.name in bad:
            with pytest.raises(image_io.ImageReadError):
                data_lib.read_training_image(str(path), 32)
            continue
        image = data_lib.read_training_image(str(path), 32)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, path.name
        assert min(image.shape[:2]) >= min(5, 32)


def test_large_jpeg_is_decoded_at_reduced_scale(tmp_path, rng):
    _messy_folder(tmp_path, rng)
    image = data_lib.read_training_image(str(tmp_path / "large.jpg"), 256)
    assert image.shape[0] >= 256 and image.shape[0] < 1500  # draft mode, not full size


def test_folder_without_any_usable_image_fails_before_training(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"")
    (tmp_path / "b.png").write_text("nope")
    config = smoke_config(data__source="folder", data__folder=str(tmp_path)).data
    with pytest.raises(UserError, match="None of the 2 image files is readable") as info:
        data_lib.make_dataset(config)
    assert "a.jpg" in str(info.value) and "b.png" in str(info.value)


def test_skimage_photos_give_real_multiscale_crops():
    pytest.importorskip("skimage")
    config = smoke_config(
        data__source="skimage", data__photos="coffee,camera", data__crops_per_photo=3,
        data__image_size=32, data__batch_size=2,
    ).data
    batches = _batches(data_lib.make_dataset(config, seed=1), 4)
    for batch in batches:
        _check_batch(batch, 2, 32)
    pool = np.concatenate(batches)
    # Real photos: varied content; camera is grey so some crops have R == G == B.
    assert pool.std() > 20
    grey = [np.allclose(img[..., 0], img[..., 1]) for img in pool]
    assert any(grey) and not all(grey)
    again = _batches(data_lib.make_dataset(config, seed=1), 4)
    np.testing.assert_array_equal(np.concatenate(again), pool)


def test_random_crops_cover_scales(rng):
    photo = np.arange(100 * 200 * 3, dtype=np.float64).reshape(100, 200, 3) % 255
    crops = data_lib.random_crops(photo.astype(np.uint8), 6, 16, rng, min_scale=0.5)
    assert crops.shape == (6, 16, 16, 3) and crops.dtype == np.float32


@pytest.mark.parametrize(
    "photos,message", [("no_such_photo", "has no sample image"), ("horse", "not an 8-bit photo")]
)
def test_bad_skimage_photo_names(photos, message):
    pytest.importorskip("skimage")
    config = smoke_config(data__source="skimage", data__photos=photos, data__image_size=16).data
    with pytest.raises(UserError, match=message):
        data_lib.make_dataset(config)
