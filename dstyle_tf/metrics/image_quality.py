"""Image primitives shared by the metrics, and SSIM of luminance.

Everything here is numpy (float64). Images are RGB arrays (H, W, 3) in
[0, 255]; maps are 2-D arrays (H, W). The helpers (`luminance`, `as_map`,
`check_same_shape`, `gaussian_blur`) are what the edge, saliency and depth
metrics build on, so inputs are validated the same way everywhere. Filtering
and SSIM come from SciPy and scikit-image (the `eval` extra).
"""

import numpy as np

from dstyle_tf.metrics.optional import require

# ITU-R BT.601 luma weights: the Y channel of Wang et al.'s SSIM code and of
# MATLAB's rgb2gray.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])


def as_map(array, name="map"):
    """Validates a 2-D map and returns it as float64.

    Raises:
        ValueError: if `array` is not (H, W) with H, W >= 2, or holds NaN or
            infinite values.
    """
    values = np.asarray(array, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"{name} must be a 2-D map (H, W), got shape {values.shape}.")
    if min(values.shape) < 2:
        raise ValueError(f"{name} must be at least 2×2, got shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return values


def check_same_shape(reference, other, names=("reference", "other")):
    """Raises ValueError unless the two arrays have the same shape."""
    if np.shape(reference) != np.shape(other):
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got "
            f"{np.shape(reference)} and {np.shape(other)}."
        )


def luminance(image, name="image"):
    """Luma Y = 0.299 R + 0.587 G + 0.114 B of an RGB image.

    Args:
        image: (H, W, 3) RGB, or an already grey (H, W) / (H, W, 1) map, which
            is returned unchanged (as float64).
        name: what to call the argument in error messages.

    Returns:
        float64 array (H, W), in the input's range (0–255 for 0–255 RGB).
    """
    values = np.asarray(image, dtype=np.float64)
    if values.ndim == 3 and values.shape[-1] == 3:
        values = values @ LUMA_WEIGHTS
    elif values.ndim == 3 and values.shape[-1] == 1:
        values = values[..., 0]
    elif values.ndim != 2:
        raise ValueError(
            f"{name} must be RGB (H, W, 3) or grey (H, W), got shape {values.shape}."
        )
    return as_map(values, name)


def gaussian_blur(values, sigma):
    """Gaussian filter of the first two axes; `sigma` a number or (σ_y, σ_x).

    `scipy.ndimage.gaussian_filter` with mirrored borders ("reflect") and
    the kernel truncated at 4σ; a σ of 0 leaves that axis unchanged, extra
    axes (colour channels) are filtered independently.
    """
    ndimage = require("scipy.ndimage")
    values = np.asarray(values, dtype=np.float64)
    sigmas = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (2,))
    if np.any(sigmas < 0):
        raise ValueError(f"sigma must be non-negative, got {sigma}.")
    sigmas = tuple(sigmas) + (0.0,) * (values.ndim - 2)
    return ndimage.gaussian_filter(values, sigmas, mode="reflect", truncate=4.0)


def ssim(reference, image, data_range=255.0, sigma=1.5, k1=0.01, k2=0.03):
    """Mean structural similarity of the luminance (Wang et al. 2004).

        SSIM(x, y) = mean over windows of
            (2 μx μy + C1)(2 σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)),
        C1 = (k1·L)², C2 = (k2·L)², L = data_range,

    with local statistics from a Gaussian window (σ = 1.5, 11×11) over the
    windows that fit inside the image, as in the authors' reference code
    ("Image quality assessment: from error visibility to structural
    similarity", IEEE TIP 2004). RGB inputs are reduced to BT.601 luma first;
    the computation is `skimage.metrics.structural_similarity` with Gaussian
    weights and population (co)variances, which is that definition.

    Direction: higher is better; 1 for identical images, ≤ 1 always.

    Args:
        reference: the photo, RGB (H, W, 3) in [0, data_range] or grey (H, W).
        image: the image to compare (e.g. the stylized photo), same shape.
        data_range: L, the dynamic range of the pixel values.
        sigma: the Gaussian window's σ; the window spans 2·round(3.5σ) + 1
            pixels (scikit-image's truncation), 11 for σ = 1.5.
        k1, k2: the stabilising constants of the paper.

    Returns:
        float.
    """
    metrics = require("skimage.metrics")
    x = luminance(reference, "reference")
    y = luminance(image, "image")
    check_same_shape(x, y, ("reference", "image"))
    window_size = 2 * int(3.5 * sigma + 0.5) + 1
    if min(x.shape) < window_size:
        raise ValueError(
            f"SSIM needs images of at least {window_size}×{window_size}, got {x.shape}."
        )
    return float(metrics.structural_similarity(
        x, y, data_range=data_range, gaussian_weights=True, sigma=sigma,
        use_sample_covariance=False, K1=k1, K2=k2,
    ))
