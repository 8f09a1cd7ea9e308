"""Input pipelines: TFDS coco/2017, folders of images, scikit-image's sample
photos, synthetic images.

Every source yields float32 RGB images (H, W, 3) in [0, 255] at the
configured size, shuffled with a seed, batched (drop_remainder, so every
step sees the configured batch), repeated forever and prefetched.
"""

import os
import threading

import numpy as np
import tensorflow as tf

from dstyle_tf import image_io
from dstyle_tf.errors import UserError
from dstyle_tf.errors import check_choice

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
RESIZE_MODES = ("resize", "center_crop", "random_crop")


def resize_image(image, size, mode="resize", seed=None):
    """Brings one uint8/float image to (size, size, 3) float32 in [0, 255].

    Args:
        mode: `"resize"` squashes to size×size (the paper's "resized to
            256×256"); `"center_crop"` / `"random_crop"` resize the shorter
            side to `size` and crop a square, keeping the aspect ratio.
    """
    check_choice("data.resize", mode, RESIZE_MODES, error=UserError)
    image = tf.cast(image, tf.float32)
    if mode == "resize":
        image = tf.image.resize(image, (size, size), antialias=True)
    else:
        shape = tf.cast(tf.shape(image)[:2], tf.float32)
        factor = size / tf.reduce_min(shape)
        new_shape = tf.cast(tf.math.ceil(shape * factor), tf.int32)
        image = tf.image.resize(image, new_shape, antialias=True)
        if mode == "center_crop":
            image = tf.image.resize_with_crop_or_pad(image, size, size)
        else:
            image = tf.image.stateless_random_crop(
                image, (size, size, 3), seed=seed
            )
    return tf.clip_by_value(tf.ensure_shape(image, (size, size, 3)), 0.0, 255.0)


def _finish(dataset, config, seed):
    """Shuffle → resize → batch → repeat → prefetch."""
    size, mode = config.image_size, config.get("resize", "resize")
    if config.get("shuffle_buffer", 0):
        dataset = dataset.shuffle(config.shuffle_buffer, seed=seed)
    dataset = dataset.repeat()

    def prepare(index, image):
        crop_seed = tf.stack([tf.cast(seed, tf.int64), index])
        return resize_image(image, size, mode, seed=crop_seed)

    dataset = dataset.enumerate().map(
        prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False
    )
    dataset = dataset.batch(config.batch_size, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def list_image_files(folder):
    """Every image file under `folder`, recursively, sorted."""
    if not os.path.isdir(folder):
        raise UserError(f"Image folder not found: {folder}")
    files = []
    for root, _, names in os.walk(folder):
        files.extend(
            os.path.join(root, name)
            for name in names
            if name.lower().endswith(IMAGE_EXTENSIONS)
        )
    if not files:
        raise UserError(
            f"No images ({', '.join(IMAGE_EXTENSIONS)}) found under {folder}."
        )
    return sorted(files)


class SkippedFiles:
    """Thread-safe record of the files a pipeline could not use, and why."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reasons = {}

    def add(self, path, reason):
        reason = str(reason).removeprefix(f"{path}: ")  # the path is the key
        with self._lock:
            self.reasons.setdefault(path, reason)

    def __len__(self):
        return len(self.reasons)

    def summary(self, limit=10):
        """One line per file (at most `limit`), for logs."""
        items = sorted(self.reasons.items())
        lines = [f"  {path}: {reason}" for path, reason in items[:limit]]
        if len(items) > limit:
            lines.append(f"  ... and {len(items) - limit} more")
        return "\n".join(lines)


def read_training_image(path, size):
    """Decodes one file to uint8 RGB (H, W, 3), upright, at least `size`.

    Any mode Pillow reads is converted (grayscale, palette, RGBA on white,
    16-bit, CMYK; the first frame of an animation). JPEGs much larger than
    needed are decoded at a reduced scale, which makes decoding large photos
    several times faster.

    Raises:
        image_io.ImageReadError: for anything that is not a readable image.
    """
    return np.asarray(image_io.open_rgb(path, draft_size=size), np.uint8)


def _check_some_image_is_usable(files, size, skipped):
    """Fails early, with reasons, if no file in the folder can be decoded."""
    for path in files:
        try:
            read_training_image(path, size)
            return
        except image_io.ImageReadError as e:
            skipped.add(path, str(e))
    raise UserError(
        f"None of the {len(files)} image files is readable:\n{skipped.summary()}"
    )


def folder_dataset(config, seed=0, skipped=None):
    """Images from a folder tree (jpg, png, bmp, gif, webp, tiff).

    Files that cannot be decoded are skipped and recorded in `skipped`.
    """
    skipped = SkippedFiles() if skipped is None else skipped
    files = list_image_files(config.folder)
    _check_some_image_is_usable(files, config.image_size, skipped)

    def decode(path):
        path = path.decode() if isinstance(path, bytes) else str(path)
        try:
            return read_training_image(path, config.image_size)
        except image_io.ImageReadError as e:
            skipped.add(path, str(e))
            return np.zeros((0, 0, 3), np.uint8)

    dataset = tf.data.Dataset.from_tensor_slices(files)
    dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(
        lambda path: tf.ensure_shape(
            tf.numpy_function(decode, [path], tf.uint8, stateful=False), (None, None, 3)
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    dataset = dataset.filter(lambda image: tf.size(image) > 0)
    return _finish(dataset, config, seed)


def tfds_dataset(config, seed=0):
    """A TFDS image dataset, by default MS-COCO 2017 train (the paper's data)."""
    import tensorflow_datasets as tfds

    try:
        dataset = tfds.load(
            config.get("tfds_name", "coco/2017"),
            split=config.get("split", "train"),
            data_dir=config.get("tfds_data_dir") or None,
            shuffle_files=True,
            read_config=tfds.ReadConfig(shuffle_seed=seed),
            download=config.get("download", True),
        )
    except Exception as e:
        missing = e.name if isinstance(e, ModuleNotFoundError) else None
        hint = f"TFDS needs the package {missing!r}: pip install {missing}\n" if missing else ""
        raise UserError(
            f"Could not load the TFDS dataset {config.get('tfds_name', 'coco/2017')!r} "
            f"({type(e).__name__}: {str(e)[:300]}).\n{hint}COCO 2017 (27 GB of "
            "archives: TFDS fetches every split) is "
            "downloaded and prepared by TFDS on first use; to use a copy "
            "prepared elsewhere pass --config.data.tfds_data_dir=/path/to/"
            "tensorflow_datasets, or train on a folder of images with "
            "--config.data.source=folder --config.data.folder=/path/to/images."
        ) from None
    dataset = dataset.map(
        lambda example: example["image"], num_parallel_calls=tf.data.AUTOTUNE
    )
    return _finish(dataset, config, seed)


def synthetic_image(rng, size):
    """A structured random photo stand-in: smooth colour fields and shapes.

    Smooth fields give the depth and content losses something to preserve,
    rectangles and discs give edges and occlusions.
    """
    coarse = rng.uniform(0, 255, (4, 4, 3)).astype(np.float32)
    image = tf.image.resize(coarse[None], (size, size), method="bicubic")[0]
    image = image.numpy()
    yy, xx = np.mgrid[0:size, 0:size]
    for _ in range(rng.integers(2, 5)):
        colour = rng.uniform(0, 255, 3)
        if rng.random() < 0.5:
            y0, x0 = rng.integers(0, size - 4, 2)
            h, w = rng.integers(4, max(5, size // 2), 2)
            image[y0 : y0 + h, x0 : x0 + w] = colour
        else:
            cy, cx = rng.uniform(0, size, 2)
            radius = rng.uniform(size / 10, size / 3)
            image[(yy - cy) ** 2 + (xx - cx) ** 2 < radius**2] = colour
    return np.clip(image, 0, 255).astype(np.float32)


def synthetic_images(count, size, seed=0):
    """`count` synthetic images (count, size, size, 3) float32 in [0, 255]."""
    rng = np.random.default_rng(seed)
    return np.stack([synthetic_image(rng, size) for _ in range(count)])


def synthetic_dataset(config, seed=0):
    """A fixed pool of synthetic images, for offline smoke runs and tests."""
    pool = synthetic_images(config.get("num_images", 64), config.image_size, seed)
    dataset = tf.data.Dataset.from_tensor_slices(pool)
    return _finish(dataset, config, seed)


# Colour and grey photographs bundled in scikit-image's wheel (no download).
# The demo trains on these and keeps astronaut and chelsea for evaluation.
SKIMAGE_TRAIN_PHOTOS = ("coffee", "rocket", "stereo_motorcycle", "camera", "clock", "coins")
SKIMAGE_HELD_OUT_PHOTOS = ("astronaut", "chelsea")


def skimage_photo(name):
    """One of scikit-image's sample photos as uint8 RGB (H, W, 3)."""
    try:
        from skimage import data as skdata
    except ImportError:
        raise UserError(
            'data.source=skimage needs scikit-image: pip install "dstyle_tf[eval]"'
        ) from None
    loader = getattr(skdata, name, None)
    if name.startswith("_") or not callable(loader):
        raise UserError(f"scikit-image has no sample image {name!r}.")
    try:
        image = loader()
    except Exception as e:  # Images that need a download (pooch) fail here.
        raise UserError(
            f"scikit-image's sample image {name!r} is not available offline ({e})."
        ) from None
    image = np.asarray(image[0] if isinstance(image, tuple) else image)
    if image.ndim != 3 and image.ndim != 2:
        raise UserError(f"scikit-image's {name!r} is not a 2-D image.")
    if image.dtype != np.uint8:
        raise UserError(f"scikit-image's {name!r} is not an 8-bit photo ({image.dtype}).")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    return image[..., :3]


def random_crops(photo, count, size, rng, min_scale=0.35):
    """`count` random square crops of `photo` at random scales, resized to size².

    Each crop's side is a uniform share in [min_scale, 1] of the photo's
    shorter side; half are mirrored. A few photos so give many views of
    objects at different scales, as a large photo collection would.
    """
    h, w = photo.shape[:2]
    crops = []
    for _ in range(count):
        side = int(rng.uniform(min_scale, 1.0) * min(h, w))
        y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crop = photo[y : y + side, x : x + side]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        crops.append(tf.image.resize(crop, (size, size), antialias=True).numpy())
    return np.clip(np.stack(crops), 0, 255).astype(np.float32)


def skimage_dataset(config, seed=0):
    """Random crops of scikit-image's sample photos (real photos, offline).

    `data.photos` names the photos, comma-separated (default
    `SKIMAGE_TRAIN_PHOTOS`), and `data.crops_per_photo` how many crops each
    gives to the pool.
    """
    rng = np.random.default_rng(seed)
    names = [n.strip() for n in config.get("photos", "").split(",") if n.strip()]
    names = names or SKIMAGE_TRAIN_PHOTOS
    count = config.get("crops_per_photo", 32)
    pool = np.concatenate(
        [random_crops(skimage_photo(n), count, config.image_size, rng) for n in names]
    )
    return _finish(tf.data.Dataset.from_tensor_slices(pool), config, seed)


SOURCES = {
    "tfds": tfds_dataset,
    "folder": folder_dataset,
    "skimage": skimage_dataset,
    "synthetic": synthetic_dataset,
}


def make_dataset(config, seed=0, skipped=None):
    """The training dataset described by `config` (a `config.data` section).

    Args:
        skipped: optional `SkippedFiles` that collects unreadable files.
    """
    if config.source not in SOURCES:
        raise UserError(
            f"Unknown data.source {config.source!r}; choose one of "
            f"{', '.join(SOURCES)}."
        )
    if config.source == "folder":
        return folder_dataset(config, seed=seed, skipped=skipped)
    return SOURCES[config.source](config, seed=seed)
