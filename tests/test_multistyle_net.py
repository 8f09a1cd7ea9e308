"""Multi-style TransformNet (conditional instance norm): blending, one-hot,
serialisation, and single-style networks unchanged."""

import json
import zipfile

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from dstyle_tf.models import TransformNet
from dstyle_tf.models.instance_norm import ConditionalInstanceNormalization

# The layout of a tiny single-style network (filters=4, one residual block,
# instance norm, resize_conv) as written by the code before multi-style
# networks existed: config keys, variable paths and the .keras weight file.
OLD_CONFIG_KEYS = [
    "dtype", "filters", "name", "normalization", "num_residual_blocks", "padding",
    "trainable", "upsampling",
]
OLD_VARIABLES = [
    ("c9s1/conv/kernel", (9, 9, 3, 4)), ("c9s1/norm/gamma", (4,)), ("c9s1/norm/beta", (4,)),
    ("d1/conv/kernel", (3, 3, 4, 8)), ("d1/norm/gamma", (8,)), ("d1/norm/beta", (8,)),
    ("d2/conv/kernel", (3, 3, 8, 16)), ("d2/norm/gamma", (16,)), ("d2/norm/beta", (16,)),
    ("res1/block1/conv/kernel", (3, 3, 16, 16)), ("res1/block1/norm/gamma", (16,)),
    ("res1/block1/norm/beta", (16,)), ("res1/block2/conv/kernel", (3, 3, 16, 16)),
    ("res1/block2/norm/gamma", (16,)), ("res1/block2/norm/beta", (16,)),
    ("u1/conv/conv/kernel", (3, 3, 16, 8)), ("u1/conv/norm/gamma", (8,)),
    ("u1/conv/norm/beta", (8,)), ("u2/conv/conv/kernel", (3, 3, 8, 4)),
    ("u2/conv/norm/gamma", (4,)), ("u2/conv/norm/beta", (4,)),
    ("c9s1_out/conv/kernel", (9, 9, 4, 3)), ("c9s1_out/conv/bias", (3,)),
]
OLD_WEIGHT_FILE = [
    ("decoder/upsample_block/conv/conv/vars/0", (3, 3, 16, 8)),
    ("decoder/upsample_block/conv/norm/vars/0", (8,)),
    ("decoder/upsample_block/conv/norm/vars/1", (8,)),
    ("decoder/upsample_block_1/conv/conv/vars/0", (3, 3, 8, 4)),
    ("decoder/upsample_block_1/conv/norm/vars/0", (4,)),
    ("decoder/upsample_block_1/conv/norm/vars/1", (4,)),
    ("encoder/conv_block/conv/vars/0", (9, 9, 3, 4)),
    ("encoder/conv_block/norm/vars/0", (4,)), ("encoder/conv_block/norm/vars/1", (4,)),
    ("encoder/conv_block_1/conv/vars/0", (3, 3, 4, 8)),
    ("encoder/conv_block_1/norm/vars/0", (8,)), ("encoder/conv_block_1/norm/vars/1", (8,)),
    ("encoder/conv_block_2/conv/vars/0", (3, 3, 8, 16)),
    ("encoder/conv_block_2/norm/vars/0", (16,)), ("encoder/conv_block_2/norm/vars/1", (16,)),
    ("layers/conv_block_3/conv/vars/0", (9, 9, 4, 3)), ("layers/conv_block_3/conv/vars/1", (3,)),
    ("layers/residual_block/block1/conv/vars/0", (3, 3, 16, 16)),
    ("layers/residual_block/block1/norm/vars/0", (16,)),
    ("layers/residual_block/block1/norm/vars/1", (16,)),
    ("layers/residual_block/block2/conv/vars/0", (3, 3, 16, 16)),
    ("layers/residual_block/block2/norm/vars/0", (16,)),
    ("layers/residual_block/block2/norm/vars/1", (16,)),
]


def tiny(**kwargs):
    keras.utils.set_random_seed(0)
    net = TransformNet(filters=4, num_residual_blocks=1, **kwargs)
    net.build()
    return net


def randomize_norms(net, rng):
    """Random γ and β everywhere (they start at ones and zeros)."""
    for variable in net.weights:
        if variable.path.endswith(("/gamma", "/beta")):
            variable.assign(rng.normal(1.0, 0.5, variable.shape).astype("float32"))
    return net


def blended_single_style_net(multi, weights):
    """A num_styles=1 network with `multi`'s weights and γ, β = weights @ γ_s, β_s."""
    single = tiny()
    for source, target in zip(multi.weights, single.weights, strict=True):
        value = np.asarray(source)
        if source.path.endswith(("/gamma", "/beta")):
            value = np.asarray(weights, np.float32) @ value
        target.assign(value)
    return single


@pytest.fixture
def multi(rng):
    return randomize_norms(tiny(num_styles=3, style_names=["wave", "scream", "starry"]), rng)


@pytest.mark.parametrize(
    "weights", [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.2, 0.5, 0.3], [0.0, 0.5, 0.5]]
)
def test_output_is_the_network_with_blended_gamma_and_beta(multi, weights, rng):
    # One-hot rows equal the style alone in a single-style network; other
    # rows equal a network whose γ, β are the weighted sums (linear in γ/β).
    images = rng.uniform(0, 255, (1, 19, 22, 3)).astype("float32")
    expected = blended_single_style_net(multi, weights)(images).numpy()
    actual = multi(images, style_weights=np.array([weights], np.float32)).numpy()
    np.testing.assert_allclose(actual, expected, atol=2e-3)


def test_each_image_of_a_batch_takes_its_own_weights(multi, rng):
    images = rng.uniform(0, 255, (2, 16, 20, 3)).astype("float32")
    weights = np.array([[0.0, 0.0, 1.0], [0.6, 0.4, 0.0]], np.float32)
    together = multi(images, style_weights=weights).numpy()
    for index in range(2):
        alone = multi(images[index : index + 1], style_weights=weights[index : index + 1])
        np.testing.assert_allclose(together[index], alone.numpy()[0], atol=2e-3)
    assert np.abs(together[0] - multi(images[:1], style_weights=weights[1:]).numpy()[0]).max() > 1


def test_list_input_equals_keyword_and_graph_with_dynamic_shapes(multi, rng):
    images = rng.uniform(0, 255, (1, 17, 21, 3)).astype("float32")
    weights = np.array([[0.3, 0.3, 0.4]], np.float32)
    eager = multi(images, style_weights=weights).numpy()
    np.testing.assert_array_equal(multi([images, weights]).numpy(), eager)
    graph = tf.function(
        lambda x, w: multi(x, style_weights=w, training=False),
        input_signature=[tf.TensorSpec([None, None, None, 3]), tf.TensorSpec([None, 3])],
    )
    np.testing.assert_allclose(graph(images, weights).numpy(), eager, atol=1e-3)


def test_multi_style_keras_round_trip(multi, tmp_path, rng):
    images = rng.uniform(0, 255, (1, 16, 16, 3)).astype("float32")
    weights = np.array([[0.1, 0.2, 0.7]], np.float32)
    path = str(tmp_path / "multi.keras")
    multi.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    assert loaded.num_styles == 3 and loaded.style_names == ["wave", "scream", "starry"]
    norms = [l for l in loaded._flatten_layers() if isinstance(l, ConditionalInstanceNormalization)]
    assert len(norms) == 7 and all(n.gamma.shape[0] == 3 for n in norms)
    np.testing.assert_array_equal(
        loaded(images, style_weights=weights).numpy(), multi(images, style_weights=weights).numpy()
    )


def test_fit_takes_images_and_weights_as_a_list(rng):
    net = tiny(num_styles=2)
    net.compile(optimizer="adam", loss="mse")
    images = rng.uniform(0, 255, (2, 16, 16, 3)).astype("float32")
    weights = np.eye(2, dtype=np.float32)
    before = [np.asarray(v) for v in net.trainable_variables]
    history = net.fit([images, weights], images, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(np.abs(np.asarray(v) - b).max() > 0 for v, b in zip(net.trainable_variables, before))


def test_mixed_precision_multi_style(rng):
    keras.config.set_dtype_policy("mixed_float16")
    net = tiny(num_styles=2)
    y = net(rng.uniform(0, 255, (1, 16, 16, 3)).astype("float32"), style_weights=[[0.5, 0.5]])
    assert y.dtype == "float32" and np.isfinite(y.numpy()).all()
    assert net.encoder[0].conv.compute_dtype == "float16"
    assert all(v.dtype == "float32" for v in net.trainable_variables)


def test_invalid_styles_are_rejected(multi, rng):
    images = rng.uniform(0, 255, (1, 16, 16, 3)).astype("float32")
    with pytest.raises(ValueError, match="needs normalization='instance'"):
        TransformNet(num_styles=2, normalization="batch")
    with pytest.raises(ValueError, match="style_names has 1 names for 2 styles"):
        TransformNet(num_styles=2, style_names=["a"])
    with pytest.raises(ValueError, match="unique"):
        TransformNet(num_styles=2, style_names=["a", "a"])
    with pytest.raises(ValueError, match="Invalid style name 'a:b'"):
        TransformNet(num_styles=2, style_names=["a:b", "c"])
    with pytest.raises(ValueError, match="pass style_weights of shape"):
        multi(images)
    with pytest.raises(ValueError, match=r"must have shape \(batch, 3\)"):
        multi(images, style_weights=[[0.5, 0.5]])
    with pytest.raises(ValueError, match="takes no style_weights"):
        tiny()(images, style_weights=[[1.0]])


@pytest.mark.parametrize("style_names", [None, ["style"]])
def test_single_style_network_keeps_the_old_layout(style_names, tmp_path):
    net = tiny(style_names=style_names)
    assert sorted(net.get_config()) == OLD_CONFIG_KEYS
    prefix = net.name + "/"
    assert [(v.path.removeprefix(prefix), tuple(v.shape)) for v in net.weights] == OLD_VARIABLES
    path = tmp_path / "net.keras"
    net.save(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))["config"]
        archive.extract("model.weights.h5", tmp_path)
    assert sorted(config) == OLD_CONFIG_KEYS
    names = []
    with h5py.File(tmp_path / "model.weights.h5") as f:
        f.visititems(lambda n, o: names.append((n, o.shape)) if isinstance(o, h5py.Dataset) else None)
    assert names == OLD_WEIGHT_FILE


def test_single_style_name_is_kept_when_not_the_default(tmp_path):
    net = tiny(style_names=["wave"])
    net.save(tmp_path / "wave.keras")
    assert keras.saving.load_model(tmp_path / "wave.keras").style_names == ["wave"]


def test_conditional_instance_norm_matches_numpy(rng):
    x = rng.normal(3.0, 2.0, (2, 5, 6, 4)).astype("float32")
    weights = np.array([[0.0, 1.0, 0.0], [0.25, 0.25, 0.5]], np.float32)
    norm = ConditionalInstanceNormalization(num_styles=3)
    norm.build(x.shape)
    gamma, beta = rng.normal(size=(2, 3, 4)).astype("float32")
    norm.gamma.assign(gamma)
    norm.beta.assign(beta)

    mean = x.mean(axis=(1, 2), keepdims=True)
    normalized = (x - mean) / np.sqrt(x.var(axis=(1, 2), keepdims=True) + 1e-5)
    expected = normalized * (weights @ gamma)[:, None, None] + (weights @ beta)[:, None, None]
    np.testing.assert_allclose(norm(x, weights).numpy(), expected, atol=1e-4)
    clone = ConditionalInstanceNormalization.from_config(norm.get_config())
    assert clone.num_styles == 3 and clone.epsilon == norm.epsilon
