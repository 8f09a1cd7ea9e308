"""Reading and writing photos for inference.

`load_image` returns what the networks take: float32 RGB (H, W, 3) in [0, 255],
upright as a viewer shows it (EXIF orientation applied), whatever the file's
mode (grayscale, palette, RGBA, 16-bit, CMYK). `save_image` writes PNG or JPEG
atomically (`atomic.replacing`: temporary file, then a rename), so an
interrupted run never leaves a truncated picture behind, and an existing file
is only replaced whole.
"""

import os

import numpy as np
from PIL import Image
from PIL import ImageOps

from dstyle_tf import atomic

# Output formats by file extension (lower case).
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}

_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")


class ImageReadError(ValueError):
    """A file could not be read as an image (missing, corrupt, not an image)."""


def to_rgb(image):
    """Converts any PIL mode to 8-bit RGB; transparency is put on white."""
    if image.mode in _SIXTEEN_BIT_MODES or image.mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float32)
        if image.mode in _SIXTEEN_BIT_MODES or values.max(initial=0) > 255:
            values = values / 257.0  # 65535 -> 255
        gray = np.clip(np.round(values), 0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def scaled_size(width, height, max_size):
    """(width, height) with the longer side at most `max_size` (None: as is)."""
    if not max_size or max(width, height) <= max_size:
        return width, height
    scale = max_size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize(image, width, height, crop=False):
    """Resizes a PIL image to width×height (Lanczos): the one resizer of the
    inference and export code.

    Args:
        image: PIL image.
        width, height: the output size.
        crop: keep the aspect ratio by first cropping the centre of the image
            to width:height (like `ImageOps.fit`); otherwise stretch.
    """
    if image.size == (width, height):
        return image
    box = None
    if crop:
        scale = min(image.width / width, image.height / height)
        crop_width, crop_height = width * scale, height * scale
        left, top = (image.width - crop_width) / 2, (image.height - crop_height) / 2
        box = (left, top, left + crop_width, top + crop_height)
    return image.resize((width, height), Image.LANCZOS, box=box)


def open_rgb(path, draft_size=None):
    """Opens an image file as an upright 8-bit RGB PIL image.

    Args:
        path: str or path-like. Any format Pillow reads (JPEG, PNG, WebP,
            TIFF, BMP, GIF — first frame —, ...), in any mode.
        draft_size: optional int. JPEGs much larger than this are decoded at
            a reduced scale (Pillow's draft mode), never below `draft_size`
            on either side: several times faster for large photos.

    Raises:
        ImageReadError: if the file is missing or not a readable image.
    """
    try:
        with Image.open(path) as image:
            if draft_size and image.format == "JPEG":
                image.draft("RGB", (draft_size, draft_size))
            image.load()
            return to_rgb(ImageOps.exif_transpose(image))
    except FileNotFoundError as e:
        raise ImageReadError(f"{path}: no such file") from e
    except IsADirectoryError as e:
        raise ImageReadError(f"{path}: is a directory, not an image") from e
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        # UnidentifiedImageError is an OSError; truncated files raise OSError.
        raise ImageReadError(f"{path}: not a readable image ({e})") from e


def load_image(path, max_size=None, size=None):
    """Loads an image file as float32 RGB (H, W, 3) in [0, 255].

    Args:
        path: str or path-like. Any format Pillow reads (see `open_rgb`).
        max_size: optional int. If given and the longer side is larger, the
            image is downscaled (Lanczos) so that the longer side equals it.
        size: optional (height, width): the centre of the image, cropped to
            that aspect ratio, resized to exactly this size (for fixed-size
            models). Overrides `max_size`.

    Returns:
        np.ndarray float32 of shape (H, W, 3), upright per EXIF orientation.

    Raises:
        ImageReadError: if the file is missing or not a readable image.
    """
    image = open_rgb(path)
    if size:
        image = resize(image, size[1], size[0], crop=True)
    else:
        image = resize(image, *scaled_size(image.width, image.height, max_size))
    return np.asarray(image, dtype=np.float32)


_ROWS_PER_BAND = 256


def to_uint8(image):
    """Rounds a float image in [0, 255] to uint8, clipping out-of-range values.

    Works in bands of rows, so a large image needs no full-size float copies.
    """
    image = np.asarray(image)
    output = np.empty(image.shape, np.uint8)
    for top in range(0, image.shape[0], _ROWS_PER_BAND):
        band = np.round(image[top : top + _ROWS_PER_BAND])
        output[top : top + _ROWS_PER_BAND] = np.clip(band, 0, 255, out=band)
    return output


def save_image(path, image, jpeg_quality=95):
    """Writes an RGB image to `path` (PNG or JPEG, from the extension) atomically.

    Args:
        path: destination; its extension chooses the format (`SAVE_FORMATS`).
        image: array (H, W, 3), float in [0, 255] (rounded and clipped) or uint8.
        jpeg_quality: int in [1, 95], used for JPEG.

    Raises:
        ValueError: for an unsupported extension or a bad array shape.
    """
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    if extension not in SAVE_FORMATS:
        raise ValueError(
            f"{path}: cannot write '{extension or 'no extension'}'; use one of "
            f"{', '.join(sorted(SAVE_FORMATS))}."
        )
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"Expected an (H, W, 3) image; got shape {image.shape}.")
    if image.dtype != np.uint8:
        image = to_uint8(image)
    options = {"quality": jpeg_quality} if SAVE_FORMATS[extension] == "JPEG" else {}
    with atomic.replacing(path, suffix=extension) as temporary:
        Image.fromarray(image).save(temporary, format=SAVE_FORMATS[extension], **options)
