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
- `stability_loss`: mean((f(x) − T⁻¹f(T(x) + n))²) on the aligned interior.
- `distill_loss`: mean((f(x) − f_T(x))²) over B, H, W, C, on [0, 255]: a
  student network's output against its teacher's.
- `total_variation_loss`: 0.5·Σ(Δx² + Δy²) per image, averaged over B.

Every function computes in float32 and returns a float32 scalar, also for
float16 inputs (mixed precision), so the sums cannot overflow.
"""

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
