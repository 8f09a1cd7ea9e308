"""Drawing pictures of images: colours, the built-in font and letterboxed
cells, shared by the stylisation contact sheet and the evaluation sheets."""

import numpy as np
from PIL import Image
from PIL import ImageFont

WHITE, BACKGROUND, TEXT = (255, 255, 255), (235, 235, 235), (20, 20, 20)


def font(size=14):
    """PIL's built-in scalable font (no font files needed)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font.
        return ImageFont.load_default()


def text_size(draw, text, text_font):
    left, top, right, bottom = draw.textbbox((0, 0), text, font=text_font)
    return right - left, bottom - top


def fit_cell(image, cell_size, resample=Image.LANCZOS, shape=None):
    """Scales an RGB array to fit (width, height), centred on a grey cell.

    Args:
        image: RGB array (h, w, 3), values in [0, 255].
        cell_size: (width, height) of the cell.
        resample: PIL resampling filter.
        shape: (height, width) whose aspect ratio the picture takes; default
            the image's own (depth maps, square network outputs, are shown at
            their photo's aspect).
    """
    width, height = cell_size
    picture = Image.fromarray(np.clip(np.round(image), 0, 255).astype(np.uint8))
    shown_height, shown_width = shape or np.shape(image)[:2]
    scale = min(width / shown_width, height / shown_height)
    size = (max(1, round(shown_width * scale)), max(1, round(shown_height * scale)))
    cell = Image.new("RGB", cell_size, BACKGROUND)
    cell.paste(picture.resize(size, resample), ((width - size[0]) // 2, (height - size[1]) // 2))
    return cell
