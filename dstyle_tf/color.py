"""Colour preservation: keep the photo's colours, take only luminance from the style.

Gatys et al. 2016, "Preserving Color in Neural Artistic Style Transfer": the
stylized image's luminance (Y of YIQ) is combined with the content image's
chrominance (I, Q). Done in numpy, in bands of rows, so that a very large image
needs little memory beyond its output.
"""

import numpy as np

# NTSC RGB -> YIQ (rows: Y, I, Q).
RGB_TO_YIQ = np.array(
    [
        [0.299, 0.587, 0.114],
        [0.595716, -0.274453, -0.321263],
        [0.211456, -0.522591, 0.311135],
    ],
    dtype=np.float64,
)
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ)

_ROWS_PER_BAND = 256


def rgb_to_yiq(images):
    """RGB (..., 3) -> YIQ (..., 3); Y has the RGB value range."""
    return np.asarray(images, np.float32) @ RGB_TO_YIQ.T.astype(np.float32)


def yiq_to_rgb(images):
    """YIQ (..., 3) -> RGB (..., 3); inverse of `rgb_to_yiq`."""
    return np.asarray(images, np.float32) @ YIQ_TO_RGB.T.astype(np.float32)


def preserve_color(content, stylized):
    """Luminance of `stylized` with the chrominance of `content`.

    Args:
        content: float array (H, W, 3), RGB in [0, 255] — the original photo.
        stylized: float array of the same shape — the network's output.

    Returns:
        float32 (H, W, 3) RGB in [0, 255] (clipped: a bright luminance with a
        saturated chroma can leave the RGB cube).
    """
    content = np.asarray(content)
    stylized = np.asarray(stylized)
    if content.shape != stylized.shape or content.shape[-1] != 3:
        raise ValueError(
            "content and stylized must both be (H, W, 3) of the same shape; "
            f"got {content.shape} and {stylized.shape}."
        )
    output = np.empty(content.shape, np.float32)
    for top in range(0, content.shape[0], _ROWS_PER_BAND):
        rows = slice(top, top + _ROWS_PER_BAND)
        yiq = rgb_to_yiq(content[rows])
        yiq[..., 0] = rgb_to_yiq(stylized[rows])[..., 0]
        output[rows] = np.clip(yiq_to_rgb(yiq), 0.0, 255.0)
    return output
