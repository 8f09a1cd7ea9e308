"""Style weights in exports: the cases every export is verified on, and the
Keras reference output for them.

A single-style network is checked once (no style input); a network with N
styles once per style (one-hot weights) and once on an even blend of all.
"""

import numpy as np


def num_styles(model):
    """Styles a model holds (1 for models without a `num_styles`)."""
    return int(getattr(model, "num_styles", 1))


def style_cases(count):
    """[None] for one style; else each one-hot (N,) row and the even blend."""
    if count == 1:
        return [None]
    return [*np.eye(count, dtype=np.float32), np.full(count, 1.0 / count, np.float32)]


def keras_output(model, images, style_weights=None):
    """float32 numpy output of `model` on images (B, H, W, 3), every image
    with the same (N,) `style_weights` (None for a single-style model)."""
    if style_weights is None:
        return np.asarray(model(images, training=False))
    weights = np.tile(np.asarray(style_weights, np.float32)[None], (len(images), 1))
    return np.asarray(model(images, style_weights=weights, training=False))
