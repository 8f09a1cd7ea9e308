"""Saliency preservation: spectral-residual saliency and the MIT benchmark metrics.

The saliency model is the spectral residual of Hou & Zhang ("Saliency
Detection: A Spectral Residual Approach", CVPR 2007): classical, numpy FFT,
no weights to download. The comparisons are CC, SIM and KL as defined by the
MIT saliency benchmark (Bylinskii et al., "What do different evaluation
metrics tell us about saliency models?", TPAMI 2018) and its MATLAB code.
Arguments follow `metric(reference, prediction)`: the photo's saliency map
first (the benchmark's "fixation map"), the stylized image's second.
"""

import numpy as np

from dstyle_tf.metrics.image_quality import as_map
from dstyle_tf.metrics.image_quality import check_same_shape
from dstyle_tf.metrics.image_quality import gaussian_blur
from dstyle_tf.metrics.image_quality import luminance
from dstyle_tf.metrics.optional import require

# MATLAB's eps, the regulariser of the benchmark's KL code.
_EPS = np.finfo(np.float64).eps
# Floor of the amplitude spectrum, relative to its maximum (see below).
_AMPLITUDE_FLOOR = 1e-6


def resize_bilinear(values, shape):
    """Bilinear resize of a 2-D map (half-pixel centres), antialiased when shrinking.

    `skimage.transform.resize` of order 1 with mirrored borders; before
    shrinking by a factor f it smooths with a Gaussian of σ = (f − 1) / 2.
    """
    transform = require("skimage.transform")
    return transform.resize(values, shape, order=1, mode="symmetric", anti_aliasing=True)


def spectral_residual_saliency(image, size=64, sigma=2.5):
    """Spectral residual saliency map (Hou & Zhang 2007).

    The luminance is shrunk so that its longer side is `size` pixels (64 in
    the paper), then with f = FFT(image), L = log|f|, P = arg f:

        R = L − h₃ * L                      (h₃ a 3×3 mean filter)
        S = g_σ * |IFFT(exp(R + i·P))|²     (g_σ Gaussian, σ = 2.5 px as in
                                             the authors' code)

    S is resized back to the input size and scaled to [0, 1]. One addition to
    the paper: L = log(|f| + 10⁻⁶·max|f|). Noise-free synthetic images can
    have exact zeros in their spectrum (a box's sinc), whose log would
    dominate R and turn the map into a lattice; on photos the floor changes
    nothing (CC > 0.99999 with and without it).

    Args:
        image: RGB (H, W, 3) or grey (H, W).
        size: working resolution (longer side, pixels).
        sigma: smoothing of the saliency map at the working resolution.

    Returns:
        float64 (H, W) in [0, 1] (all zeros for a constant image).
    """
    gray = luminance(image)
    if np.ptp(gray) == 0:
        return np.zeros_like(gray)
    scale = size / max(gray.shape)
    small_shape = tuple(max(2, int(round(side * scale))) for side in gray.shape)
    small = resize_bilinear(gray, small_shape)
    spectrum = np.fft.fft2(small)
    amplitude = np.abs(spectrum)
    log_amplitude = np.log(amplitude + _AMPLITUDE_FLOOR * amplitude.max() + _EPS)
    mean_3x3 = require("scipy.ndimage").uniform_filter(log_amplitude, 3, mode="nearest")
    residual = log_amplitude - mean_3x3
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    saliency = resize_bilinear(gaussian_blur(saliency, sigma), gray.shape)
    return _min_max(saliency)


def _min_max(values):
    low, high = values.min(), values.max()
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def _saliency_pair(reference, saliency):
    reference = as_map(reference, "reference saliency")
    saliency = as_map(saliency, "saliency")
    check_same_shape(reference, saliency, ("reference saliency", "saliency"))
    return reference, saliency


def _as_distribution(values):
    """Map / sum, or uniform for an all-zero map (it says nothing)."""
    total = values.sum()
    return values / total if total > 0 else np.full(values.shape, 1.0 / values.size)


def correlation_coefficient(reference, saliency):
    """CC: Pearson's linear correlation between two saliency maps.

        CC(P, Q) = cov(P, Q) / (σ(P)·σ(Q))

    (MIT benchmark `CC.m`: both maps standardised, then `corr2`). Symmetric.

    Direction: higher is better; 1 for identical maps (up to a positive
    affine change), 0 unrelated, −1 inverted. 0 if a map is constant.
    """
    reference, saliency = _saliency_pair(reference, saliency)
    if np.ptp(reference) == 0 or np.ptp(saliency) == 0:
        return 0.0
    return float(np.corrcoef(reference.ravel(), saliency.ravel())[0, 1])


def similarity(reference, saliency):
    """SIM: histogram intersection of two saliency maps seen as distributions.

        SIM(P, Q) = Σᵢ min(Pᵢ, Qᵢ),  each map min–max scaled, then divided by its sum

    (MIT benchmark `similarity.m`; Swain & Ballard 1991). Symmetric; a
    constant map is taken as the uniform distribution.

    Direction: higher is better; 1 for identical maps, 0 for disjoint ones.
    """
    reference, saliency = _saliency_pair(reference, saliency)
    reference = _as_distribution(_min_max(reference))
    saliency = _as_distribution(_min_max(saliency))
    return float(np.minimum(reference, saliency).sum())


def kl_divergence(reference, saliency):
    """KL: information lost when `saliency` is used to approximate `reference`.

        KL(Q ‖ P) = Σᵢ Qᵢ · log(ε + Qᵢ / (Pᵢ + ε)),   ε = 2.2204e-16,

    with Q the reference (photo) map and P the prediction (stylized) map,
    each divided by its sum (MIT benchmark `KLdiv.m`; an all-zero map is
    taken as uniform). Not symmetric. Maps must be non-negative.

    Direction: lower is better; 0 for identical maps (up to ~1e-10 of
    rounding from ε, which can make it very slightly negative).
    """
    reference, saliency = _saliency_pair(reference, saliency)
    if reference.min() < 0 or saliency.min() < 0:
        raise ValueError("KL divergence needs non-negative saliency maps.")
    target = _as_distribution(reference)
    estimate = _as_distribution(saliency)
    return float(np.sum(target * np.log(_EPS + target / (estimate + _EPS))))


def saliency_preservation(photo, stylized, **saliency_kwargs):
    """CC, SIM and KL of the stylized image's saliency against the photo's.

    Args:
        photo, stylized: RGB (H, W, 3) in [0, 255] (or grey), same shape.
        **saliency_kwargs: passed to `spectral_residual_saliency`.

    Returns:
        dict with float "cc", "sim", "kl".
    """
    check_same_shape(photo, stylized, ("photo", "stylized"))
    reference = spectral_residual_saliency(photo, **saliency_kwargs)
    saliency = spectral_residual_saliency(stylized, **saliency_kwargs)
    return {
        "cc": correlation_coefficient(reference, saliency),
        "sim": similarity(reference, saliency),
        "kl": kl_divergence(reference, saliency),
    }
