"""Image primitives shared by the metrics, and SSIM of luminance.

Everything here is numpy (float64). Images are RGB arrays (H, W, 3) in
[0, 255]; maps are 2-D arrays (H, W). The helpers (`luminance`, `as_map`,
`gaussian_blur`, `separable_filter`) are what the edge, saliency and depth
metrics build on, so inputs are validated the same way everywhere.
"""

import numpy as np

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


def gaussian_kernel(sigma, radius=None):
    """Normalised 1-D Gaussian of standard deviation `sigma`, 2·radius+1 taps.

    The default radius, round(4σ), truncates the tails like scipy.ndimage.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}.")
    if radius is None:
        radius = int(4.0 * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def separable_filter(values, kernel, mode="symmetric"):
    """Correlates the first two axes of `values` with the 1-D `kernel`.

    Args:
        values: array (H, W) or (H, W, C); extra axes are filtered independently.
        kernel: 1-D array of odd length 2r+1, applied along rows then columns.
        mode: border handling, any `np.pad` mode ("symmetric" mirrors the edge
            pixel like scipy's "reflect", "edge" replicates it), or "valid"
            to keep only outputs whose window lies inside the input, which
            shrinks each side by r (as MATLAB's `filter2(..., 'valid')`).

    Returns:
        float64 array.
    """
    values = np.asarray(values, dtype=np.float64)
    for axis in (0, 1):
        values = filter_axis(values, kernel, axis, mode)
    return values


def filter_axis(values, kernel, axis, mode="symmetric"):
    """Correlates one axis of `values` with the odd-length 1-D `kernel`."""
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 1 or len(kernel) % 2 != 1:
        raise ValueError(f"kernel must be 1-D of odd length, got shape {kernel.shape}.")
    radius = len(kernel) // 2
    if mode != "valid":
        pad = [(0, 0)] * values.ndim
        pad[axis] = (radius, radius)
        values = np.pad(values, pad, mode=mode)
    size = values.shape[axis] - 2 * radius
    if size < 1:
        raise ValueError(
            f"axis {axis} of length {values.shape[axis]} is too short for a "
            f"{len(kernel)}-tap 'valid' filter."
        )
    window = [slice(None)] * values.ndim
    result = np.zeros(values.shape[:axis] + (size,) + values.shape[axis + 1 :])
    for offset, weight in enumerate(kernel):
        window[axis] = slice(offset, offset + size)
        result += weight * values[tuple(window)]
    return result


def gaussian_blur(values, sigma, mode="symmetric"):
    """Gaussian filter of the first two axes; `sigma` a number or (σ_y, σ_x).

    A σ of 0 leaves that axis unchanged. Mirrored borders by default.
    """
    values = np.asarray(values, dtype=np.float64)
    sigmas = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (2,))
    if np.any(sigmas < 0):
        raise ValueError(f"sigma must be non-negative, got {sigma}.")
    for axis, axis_sigma in enumerate(sigmas):
        if axis_sigma > 0:
            values = filter_axis(values, gaussian_kernel(axis_sigma), axis, mode)
    return values


def ssim(reference, image, data_range=255.0, sigma=1.5, window_size=11, k1=0.01, k2=0.03):
    """Mean structural similarity of the luminance (Wang et al. 2004).

        SSIM(x, y) = mean over windows of
            (2 μx μy + C1)(2 σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)),
        C1 = (k1·L)², C2 = (k2·L)², L = data_range,

    with local statistics from an 11×11 Gaussian window (σ = 1.5) over the
    windows that fit inside the image, as in the authors' reference code
    ("Image quality assessment: from error visibility to structural
    similarity", IEEE TIP 2004). RGB inputs are reduced to BT.601 luma first.

    Direction: higher is better; 1 for identical images, ≤ 1 always.

    Args:
        reference: the photo, RGB (H, W, 3) in [0, data_range] or grey (H, W).
        image: the image to compare (e.g. the stylised photo), same shape.
        data_range: L, the dynamic range of the pixel values.
        sigma, window_size: the Gaussian window.
        k1, k2: the stabilising constants of the paper.

    Returns:
        float.
    """
    x = luminance(reference, "reference")
    y = luminance(image, "image")
    check_same_shape(x, y, ("reference", "image"))
    if min(x.shape) < window_size:
        raise ValueError(
            f"SSIM needs images of at least {window_size}×{window_size}, got {x.shape}."
        )
    kernel = gaussian_kernel(sigma, radius=window_size // 2)

    def local_mean(values):
        return separable_filter(values, kernel, mode="valid")

    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x = local_mean(x * x) - mu_x**2
    var_y = local_mean(y * y) - mu_y**2
    cov = local_mean(x * y) - mu_x * mu_y
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    return float(ssim_map.mean())
