"""Loss functions of depth-aware style transfer (Liu et al. 2017, eqs. 1-7).

Pure functions with no state. Reductions follow the reference
implementations (Johnson's and the authors' Torch code), which is what makes
the paper's weights (content 1, style 5, depth 5) balance:

- `gram_matrix`: G(F)[b] = F[b]ᵀ F[b] / (C·H·W), F reshaped to (B, H·W, C).
- `content_loss`: mean((φ(ŷ) − φ(x))²) over B, H, W, C.
- `style_loss`: Σ_j mean((G_j(ŷ) − G_j(y_s))²) over B, C, C.
- `depth_loss`: mean((φ1(ŷ) − φ1(x))²) over every axis.
- `edge_loss`: mean((φ2(ŷ) − φ2(x))²) over every axis (φ2: HED edges or
  the Laplacian of the pooled image; Cheng et al. 2020, Li et al. 2017).
- `edge_salience_loss`: the photo's strongest edges must stay among the
  stylisation's strongest: mean over the photo's thin strong-edge mask M of
  relu(r·q(g(ŷ)) − g(ŷ))², q a per-image quantile, g the gradient magnitude.
- `stability_loss`: mean((f(x) − T⁻¹f(T(x) + n))²) on the aligned interior.
- `distill_loss`: mean((f(x) − f_T(x))²) over B, H, W, C, on [0, 255]: a
  student network's output against its teacher's.
- `total_variation_loss`: 0.5·Σ(Δx² + Δy²) per image, averaged over B.

Every function computes in float32 and returns a float32 scalar, also for
float16 inputs (mixed precision), so the sums cannot overflow.
"""

import numpy as np
import tensorflow as tf


def _f32(x):
    return tf.cast(x, tf.float32)


def gram_matrix(features):
    """Gram matrices of feature maps, normalised by C·H·W (eq. 5).

    Args:
        features: (B, H, W, C) feature maps.

    Returns:
        float32 (B, C, C).
    """
    features = _f32(features)
    shape = tf.shape(features)
    b, h, w, c = shape[0], shape[1], shape[2], shape[3]
    flat = tf.reshape(features, (b, h * w, c))
    gram = tf.matmul(flat, flat, transpose_a=True)
    return gram / tf.cast(h * w * c, tf.float32)


def content_loss(out, target):
    """Feature reconstruction loss (eq. 4): mean squared feature difference."""
    return tf.reduce_mean(tf.square(_f32(out) - _f32(target)))


def style_loss(out_features, target_grams):
    """Style reconstruction loss (eqs. 6-7), summed over the style layers.

    Args:
        out_features: sequence of (B, H, W, C) feature maps of the stylized
            images, one per style layer.
        target_grams: sequence of Gram matrices of the style image, same
            order; each (1, C, C) or (B, C, C), broadcast over the batch.

    Returns:
        float32 scalar: Σ_j mean((G_j(ŷ) − G_j(y_s))²).
    """
    return tf.reduce_mean(style_loss_per_image(out_features, target_grams))


def style_loss_per_image(out_features, target_grams):
    """`style_loss` of each image of the batch: float32 (B,).

    Its mean over the batch is `style_loss`; with (B, C, C) targets each
    image is compared with its own style (multi-style training).
    """
    out_features = list(out_features)
    target_grams = list(target_grams)
    if len(out_features) != len(target_grams):
        raise ValueError(
            f"style_loss needs one target Gram per style layer; got "
            f"{len(out_features)} feature maps and {len(target_grams)} Grams."
        )
    total = 0.0
    for features, target in zip(out_features, target_grams):
        diff = gram_matrix(features) - _f32(target)
        total += tf.reduce_mean(tf.square(diff), axis=(1, 2))
    return total


def depth_loss(out_depth, target_depth):
    """Depth reconstruction loss (eq. 2): mean squared depth difference."""
    return tf.reduce_mean(tf.square(_f32(out_depth) - _f32(target_depth)))


def edge_loss(out_edges, target_edges):
    """Edge-structure loss: mean squared difference of the edge maps."""
    return tf.reduce_mean(tf.square(_f32(out_edges) - _f32(target_edges)))


def per_image_quantile(values, quantile, mask=None):
    """The `quantile` (0–1) of each image's values (B, ...) → (B,), the
    value at that rank (no interpolation), float32; with a 0/1 `mask` of
    the same shape, of the values where the mask is 0 (all of them if it
    covers the whole image)."""
    flat = tf.reshape(_f32(values), (tf.shape(values)[0], -1))
    count = tf.shape(flat)[1]
    if mask is None:
        rank = tf.round(quantile * tf.cast(count - 1, tf.float32))
        return tf.sort(flat, axis=-1)[:, tf.cast(rank, tf.int32)]
    excluded = tf.reshape(tf.cast(mask, tf.bool), tf.shape(flat))
    excluded &= ~tf.reduce_all(excluded, axis=-1, keepdims=True)
    skipped = tf.reduce_sum(tf.cast(excluded, tf.float32), axis=-1)
    flat = tf.where(excluded, tf.constant(-np.inf, tf.float32), flat)
    rank = skipped + tf.round(quantile * (tf.cast(count, tf.float32) - skipped - 1.0))
    return tf.gather(tf.sort(flat, axis=-1), tf.cast(rank, tf.int32)[:, None], batch_dims=1)[:, 0]


def edge_ridges(magnitude, quantile=0.85, radius=1):
    """Each image's strongest edges as a thin mask, (B, H, W, 1) float32 0/1.

    A pixel is on a ridge of the gradient magnitude when it is a maximum
    along x (against its left and right neighbours) or along y; the ridges at
    or above the image's `quantile` of the magnitude (Canny's high threshold,
    `metrics.edges.canny`) are its strongest edges, widened by `radius`
    pixels (a (2r+1)² max filter) so a one-pixel shift still counts.

    Args:
        magnitude: (B, H, W, 1) gradient magnitude.
    """
    g = _f32(magnitude)
    padded = tf.pad(g, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
    along_x = (g >= padded[:, 1:-1, :-2]) & (g >= padded[:, 1:-1, 2:])
    along_y = (g >= padded[:, :-2, 1:-1]) & (g >= padded[:, 2:, 1:-1])
    strong = g >= tf.reshape(per_image_quantile(g, quantile), (-1, 1, 1, 1))
    ridges = tf.cast((along_x | along_y) & strong, tf.float32)
    if radius:
        ridges = tf.nn.max_pool2d(ridges, 2 * radius + 1, 1, "SAME")
    return ridges


def edge_salience_loss(out_magnitude, target_magnitude, quantile=0.85, ratio=1.5):
    """Edge salience: the photo's edges stay the stylisation's strongest.

    Canny-like edge detectors (and viewers) see an edge where the gradient
    stands out against the image's own gradients. A stylisation keeps the
    photo's layout readable when the photo's strongest edges stay above the
    bulk of the texture it paints. With g(·) the gradient magnitude of each
    image (B, H, W, 1) and q_k the per-image `quantile` of g:

        M = edge_ridges(g(x), k)        the photo's strongest edges (thin)
        t = r·q_k(g(ŷ) where M = 0)     the strong strokes painted elsewhere
        l = Σ M·relu(t − g(ŷ))² / Σ M

    with t held constant (no gradient through the rank). Only edges the
    photo has are pushed up, so strokes elsewhere are left to the style
    term; once the photo's edges stand r above the k-quantile of the rest
    of the picture, the term is zero (the rest excludes the photo's edges,
    so raising them does not raise the bar).

    Args:
        out_magnitude: g(ŷ), the stylisation's gradient magnitude (B, H, W, 1).
        target_magnitude: g(x), the photo's, same shape.
        quantile: k: each image's top 1 − k of the magnitude are its strong
            gradients (0.85: Canny's high threshold in the judge).
        ratio: r, how far above the k-quantile of the rest of the
            stylisation the photo's edges must stand.

    Returns:
        float32 scalar.
    """
    out = _f32(out_magnitude)
    photo_edges = edge_ridges(target_magnitude, quantile)
    threshold = tf.stop_gradient(
        ratio * tf.reshape(per_image_quantile(out, quantile, photo_edges), (-1, 1, 1, 1))
    )
    shortfall = tf.square(tf.nn.relu(threshold - out)) * photo_edges
    return tf.reduce_sum(shortfall) / tf.maximum(tf.reduce_sum(photo_edges), 1.0)


def stability_loss(stylized, perturbed_stylized):
    """Stability: mean squared difference of two aligned stylisations
    (Gupta et al., ICCV 2017; see `dstyle_tf.stability`)."""
    return tf.reduce_mean(tf.square(_f32(stylized) - _f32(perturbed_stylized)))


def distill_loss(stylized, teacher_stylized):
    """Distillation: mean squared difference, over B, H, W, C and in grey
    levels² on [0, 255], of the student's stylisation and the teacher's
    (Hinton et al. 2015, on outputs). 10·log10(255² / loss) is the student's
    PSNR against the teacher: 206 ≈ 25 dB, 65 ≈ 30 dB."""
    return tf.reduce_mean(tf.square(_f32(stylized) - _f32(teacher_stylized)))


def total_variation_loss(images):
    """Total variation 0.5·Σ(Δx² + Δy²) per image, averaged over the batch.

    Args:
        images: (B, H, W, C).
    """
    images = _f32(images)
    dy = images[:, 1:, :, :] - images[:, :-1, :, :]
    dx = images[:, :, 1:, :] - images[:, :, :-1, :]
    per_image = 0.5 * (
        tf.reduce_sum(tf.square(dy), axis=(1, 2, 3))
        + tf.reduce_sum(tf.square(dx), axis=(1, 2, 3))
    )
    return tf.reduce_mean(per_image)
