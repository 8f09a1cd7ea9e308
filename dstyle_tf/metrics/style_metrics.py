"""Style strength and content fidelity on loss-network features, in numpy.

Model-agnostic: the functions take feature maps (dicts layer name → array
(H, W, C), as the loss network's named taps), with the same definitions as
the training losses of DESIGN.md — the Gram matrix is `losses.gram_matrix`
itself and the layers are the loss network's `STYLE_LAYERS` and
`CONTENT_LAYER` — so the numbers are comparable with the logged
`style_loss` / `content_loss`. `features_of` runs any callable feature
extractor (e.g. the project's VGG taps) on one image.
"""

import numpy as np

from dstyle_tf import losses
from dstyle_tf.metrics.image_quality import check_same_shape
from dstyle_tf.models.vgg import CONTENT_LAYER
from dstyle_tf.models.vgg import STYLE_LAYERS


def _feature_map(features, name):
    values = np.asarray(features, dtype=np.float64)
    if values.ndim != 3:
        raise ValueError(f"features {name!r} must be (H, W, C), got shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"features {name!r} contain NaN or infinite values.")
    return values


def gram_matrix(features):
    """Gram matrix G = FᵀF / (C·H·W) of one feature map F (H, W, C) → (C, C).

    `dstyle_tf.losses.gram_matrix` (DESIGN.md eq. 5, computed in float32) on
    a batch of one, returned as a float64 numpy array.
    """
    values = _feature_map(features, "features")
    return np.asarray(losses.gram_matrix(values[None]), dtype=np.float64)[0]


def gram_matrices(features, layers=STYLE_LAYERS):
    """Gram matrix per layer of a dict of feature maps: {name: (C, C)}."""
    missing = [name for name in layers if name not in features]
    if missing:
        raise ValueError(f"features lack layers {missing}; have {sorted(features)}.")
    return {name: gram_matrix(features[name]) for name in layers}


def gram_distances(features, target_grams):
    """Per-layer style distance mean((G_j(features) − G_j(target))²) over (C, C).

    Args:
        features: dict name → (H, W, C) feature map of the stylized image.
        target_grams: dict name → (C, C) Gram matrix of the style image
            (`gram_matrices(features_of(extractor, style_image))`); its keys
            choose the layers.

    Returns:
        dict name → float.
    """
    distances = {}
    for name, target in target_grams.items():
        if name not in features:
            raise ValueError(f"features lack style layer {name!r}; have {sorted(features)}.")
        gram = gram_matrix(features[name])
        target = np.asarray(target, dtype=np.float64)
        check_same_shape(gram, target, (f"Gram of {name}", f"target Gram of {name}"))
        distances[name] = float(np.mean((gram - target) ** 2))
    return distances


def gram_distance(features, target_grams):
    """Style distance Σ_j mean((G_j(ŷ) − G_j(y_s))²) to the style image.

    The style loss of DESIGN.md (eqs. 6–7, squared Frobenius norm / C_j²,
    summed over the layers of `target_grams`) for one image: how far the
    stylized image's feature correlations are from the style's.

    Direction: lower is stronger style (0 = the style's Gram statistics).
    """
    return float(sum(gram_distances(features, target_grams).values()))


def content_distance(features, target_features, layer=CONTENT_LAYER):
    """Content distance mean((φ_j(ŷ) − φ_j(x))²) over H, W, C at one layer.

    DESIGN.md eq. 4 (j = relu2_2): how far the stylized image's features are
    from the photo's.

    Args:
        features: stylized image's feature map (H, W, C), or a dict of them.
        target_features: the photo's, same form.
        layer: which entry to use when dicts are given.

    Direction: lower is more faithful to the content (0 = same features).
    """
    if isinstance(features, dict):
        features = features[layer]
    if isinstance(target_features, dict):
        target_features = target_features[layer]
    values = _feature_map(features, layer)
    target = _feature_map(target_features, layer)
    check_same_shape(values, target, ("features", "target features"))
    return float(np.mean((values - target) ** 2))


def features_of(extractor, image):
    """Runs a feature extractor on one image and returns numpy feature maps.

    Args:
        extractor: callable taking a float32 batch (1, H, W, 3) RGB in
            [0, 255] and returning a dict name → (1, h, w, C) tensor or array
            (e.g. a VGG-16 with taps "relu1_2" … "relu4_3").
        image: RGB (H, W, 3) in [0, 255].

    Returns:
        dict name → float64 array (h, w, C).
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must be RGB (H, W, 3), got shape {image.shape}.")
    outputs = extractor(image[None])
    return {name: np.asarray(value, dtype=np.float64)[0] for name, value in outputs.items()}


def style_strength(photo, stylized, extractor, style_grams, content_layer=CONTENT_LAYER):
    """Gram distance to the style and content distance to the photo, for one image.

    Args:
        photo, stylized: RGB (H, W, 3) in [0, 255], same shape.
        extractor: see `features_of`.
        style_grams: dict layer → (C, C), computed once per style with
            `gram_matrices(features_of(extractor, style_image))`.
        content_layer: the content layer (relu2_2).

    Returns:
        dict with float "gram_distance" and "content_distance" (both lower is
        better in their own sense: stronger style, more faithful content).
    """
    check_same_shape(photo, stylized, ("photo", "stylized"))
    stylized_features = features_of(extractor, stylized)
    return {
        "gram_distance": gram_distance(stylized_features, style_grams),
        "content_distance": content_distance(
            stylized_features, features_of(extractor, photo), layer=content_layer
        ),
    }
