"""Perturbations for the stability term (Gupta, Johnson, Alahi & Fei-Fei,
"Characterizing and Improving Stability in Neural Style Transfer", ICCV 2017).

A frame of video differs from the previous one by sensor noise and a small
motion. The stability term stylises a photo and a perturbed copy of it — a
known translation of up to `max_shift` pixels (reflect-padded at the
borders) plus Gaussian noise of `noise_std` grey levels — undoes the
translation on the second output, and penalises the squared difference on the
interior (the `max_shift`-pixel border, where the copies hold different
content, is left out). The perturbation is drawn from a stateless seed, so a
resumed run draws the same ones.
"""

import tensorflow as tf


def random_shift(seed, max_shift):
    """(dy, dx) integers in [−max_shift, max_shift], from a stateless seed."""
    return tf.random.stateless_uniform(
        (2,), seed=seed, minval=-max_shift, maxval=max_shift + 1, dtype=tf.int32
    )


def translate(images, shift, max_shift):
    """Images moved by `shift` = (dy, dx) pixels, reflect-padded: out[y, x] = in[y − dy, x − dx]."""
    m = max_shift
    padded = tf.pad(images, [[0, 0], [m, m], [m, m], [0, 0]], mode="REFLECT")
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    return padded[:, m - shift[0] : m - shift[0] + height, m - shift[1] : m - shift[1] + width]


def perturb(images, seed, max_shift=2, noise_std=4.0):
    """(perturbed images, the shift): translated, noisy copies in [0, 255]."""
    images = tf.convert_to_tensor(images)
    shift = random_shift(seed, max_shift)
    moved = translate(images, shift, max_shift)
    noise = tf.random.stateless_normal(tf.shape(moved), seed=seed + 1, stddev=noise_std)
    return tf.clip_by_value(moved + tf.cast(noise, moved.dtype), 0.0, 255.0), shift


def aligned_interior(stylized, perturbed_stylized, shift, max_shift):
    """The two stylisations on the same pixels: the perturbed one moved back,
    both cropped by `max_shift` on every side (float32)."""
    m = max_shift
    back = translate(perturbed_stylized, -shift, max_shift)
    crop = lambda x: tf.cast(x[:, m : tf.shape(x)[1] - m, m : tf.shape(x)[2] - m], tf.float32)  # noqa: E731
    return crop(stylized), crop(back)
