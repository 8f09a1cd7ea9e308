"""Per-channel equalisation of the convolutions before instance norm, for int8 export.

Full int8 quantises every activation with one scale per tensor. A convolution
that feeds instance norm has output channels of very different magnitudes
(a trained demo network: per-channel RMS spread up to 5× within one tensor,
e.g. 1.6–7.5 at the first upsampling), and instance norm then divides each
channel by its own deviation: the quantisation step, set by the largest
channel, becomes a large error in the small ones after normalisation.

Instance norm does not see a positive per-channel factor on its input:
IN(c·x) with variance epsilon c²·ε equals IN(x) with ε. So, before
conversion, each such convolution's output channel k is multiplied by
c_k = median RMS / RMS_k (RMS over calibration images, from
`InstanceNormStatistics`) and its norm gets the per-channel epsilon c_k²·ε:
the same function in float (to rounding), with channels of equal magnitude
for the int8 quantiser. Batch-norm networks are left as they are (the
converter folds batch norm into the convolution).
"""

import keras
import numpy as np

from dstyle_tf.models.instance_norm import InstanceNormalization
from dstyle_tf.models.instance_norm import InstanceNormStatistics
from dstyle_tf.models.layers import ResidualBlock
from dstyle_tf.models.layers import UpsampleBlock
from dstyle_tf.models.transform_net import rebuilt
from export import styles as styles_lib


def normalized_convolutions(model):
    """[(convolution layer, its kernel's output axis, instance-norm layer)]
    of every convolution of a `TransformNet` that instance norm follows
    (none for other models)."""
    if not all(hasattr(model, name) for name in ("encoder", "residuals", "decoder")):
        return []
    blocks = []
    for block in model.encoder + model.residuals + model.decoder:
        if isinstance(block, ResidualBlock):
            blocks += [block.block1, block.block2]
        elif isinstance(block, UpsampleBlock) and block.upsampling == "resize_conv":
            blocks.append(block.conv)
        else:
            blocks.append(block)
    pairs = []
    for block in blocks:
        if not isinstance(block.norm, InstanceNormalization):
            continue
        # Conv2DTranspose kernels are (h, w, out, in); Conv2D (h, w, in, out).
        axis = -2 if isinstance(block, UpsampleBlock) else -1
        pairs.append((block.conv, axis, block.norm))
    return pairs


def channel_moments(model, images):
    """{instance-norm layer path: ((C,) mean, (C,) variance) of its input per
    channel}, pooled over `images` (float32 (H, W, 3) arrays in [0, 255];
    each style of a multi-style network in turn)."""
    recorder = InstanceNormStatistics()
    cases = styles_lib.style_cases(styles_lib.num_styles(model))
    for index, image in enumerate(images):
        weights = cases[index % len(cases)]
        kwargs = {} if weights is None else {"style_weights": weights[None]}
        model(image[None], training=False, statistics=recorder, **kwargs)
    return recorder.moments()


def channel_rms(model, images):
    """{instance-norm layer path: (C,) RMS of its input per channel} over
    `images` (as `channel_moments`)."""
    return {path: np.sqrt(np.square(mean) + variance)
            for path, (mean, variance) in channel_moments(model, images).items()}


def equalized_copy(model, images):
    """A copy of `model` (a `TransformNet`) with the convolutions before
    instance norm equalised per channel on `images` (see module doc): the
    same output in float, better int8 quantisation. Not for training or
    saving: its norms' epsilons are per-channel arrays."""
    pairs = normalized_convolutions(model)
    if not pairs:
        return model
    copy = rebuilt(model)
    moments = channel_moments(copy, images)
    for conv, axis, norm in normalized_convolutions(copy):
        mean, variance = (np.asarray(v, np.float64) for v in moments[norm.path])
        magnitude = np.maximum(np.sqrt(variance), 1e-12)
        factor = np.median(magnitude) / magnitude
        shape = [1] * len(conv.kernel.shape)
        shape[axis] = -1
        conv.kernel.assign(keras.ops.convert_to_numpy(conv.kernel) * factor.reshape(shape))
        _set_bias(conv, -mean * factor)
        norm.epsilon = (norm.epsilon * np.square(factor)).astype(np.float32)
    return copy


def _set_bias(conv, bias):
    """Gives `conv` (built, without a bias) the per-channel bias `bias`."""
    if conv.bias is None:
        # A built layer's state is locked; Keras's own `quantize` unlocks it
        # the same way to add variables after build.
        conv._tracker.unlock()
        try:
            conv.bias = conv.add_weight(name="bias", shape=(len(bias),), initializer="zeros")
        finally:
            conv._tracker.lock()
        conv.use_bias = True
    conv.bias.assign(bias.astype(np.float32))
