"""A PyTorch eager twin of the Johnson train step: the reference that the
training throughput is compared with (`python -m benchmarks.torch_comparison`).

The step is that of pytorch/examples' `fast_neural_style` (transformer
forward, VGG-16 on the stylised and the content batch, content and style
losses, backward, Adam), adapted to the project's Johnson config: the same
`TransformNet` architecture (`TorchTransformNet`, layer for layer), the same
VGG-16 preprocessing and taps (`TorchVGGFeatures`, random frozen weights:
the cost does not depend on them), the loss of `dstyle_tf.losses` (content
MSE at relu2_2, Σ_j mean((G_j(ŷ) − G_j(y_s))²) with G = FᵀF/(C·H·W) and
precomputed style Grams, TV 0.5·Σ(Δx² + Δy²) per image), the weights of
`configs/johnson.py` and Adam at its learning rate. Like the TF step, VGG
runs on the content batch only up to the content tap, without gradients.

`check_parity` compares the twin with the Keras network before anything is
timed: trainable parameters and the analytic forward FLOPs of every
convolution (here from forward hooks, there from `flops.layer_costs`), so a
ratio is never reported between networks that differ.

PyTorch is optional (not a dependency of the project): it is imported only
inside the functions here, and `require_torch` turns its absence into a
one-line `TorchUnavailableError`.

Tensors are channels-last (NHWC in memory) by default: measured here with
torch 2.13 (oneDNN) on 2 cores, at 128², batch 1, the step took less time
than in the contiguous NCHW layout (see README's Performance section).
"""

import functools

from dstyle_tf.benchmark import flops as flops_lib
from dstyle_tf.errors import UserError
from dstyle_tf.errors import check_choice
from dstyle_tf.models.layers import NORMALIZATIONS
from dstyle_tf.models.layers import PADDINGS
from dstyle_tf.models.layers import UPSAMPLINGS

INSTALL_HINT = "pip install torch (or pip install -e '.[torch-reference]')"
MEMORY_FORMATS = ("channels_last", "contiguous")
DEFAULT_MEMORY_FORMAT = "channels_last"
# Keras' Adam epsilon (PyTorch's default is 1e-8).
ADAM_EPSILON = 1e-7
# VGG-16 up to block 4 (relu4_3): output channels per conv, "M" = 2×2 max pool.
_VGG_LAYERS = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512)
# ImageNet BGR means of the Caffe VGG weights (`dstyle_tf.models.vgg`).
_BGR_MEAN = (103.939, 116.779, 123.68)


class TorchUnavailableError(UserError):
    """PyTorch is not installed (it is only needed for the reference)."""


class ParityError(ValueError):
    """The PyTorch twin does not match the Keras network it stands for."""


def require_torch():
    """The `torch` module, or a one-line `TorchUnavailableError`."""
    try:
        import torch
    except ImportError as e:
        raise TorchUnavailableError(
            f"the PyTorch reference needs torch, which is not installed ({e}): {INSTALL_HINT}"
        ) from None
    return torch


def describe():
    """PyTorch's version and CPU build facts, as a JSON-ready dict."""
    torch = require_torch()
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkldnn": torch.backends.mkldnn.is_available(),
    }


def _memory_format(torch, name):
    check_choice("memory_format", name, MEMORY_FORMATS)
    return torch.channels_last if name == "channels_last" else torch.contiguous_format


@functools.cache
def _modules():
    """The nn.Module classes (defined on first use: torch is optional)."""
    torch = require_torch()
    nn = torch.nn

    def norm_layer(kind, channels):
        if kind == "batch":  # Keras momentum 0.9 = PyTorch momentum 0.1
            return nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)
        return nn.InstanceNorm2d(channels, eps=1e-5, affine=True)

    def conv_block(cin, cout, kernel, stride=1, norm=None, padding="reflect", relu=True):
        """Conv (no bias when a norm follows: it has its own offset), norm, ReLU."""
        mode = "reflect" if padding == "reflect" else "zeros"
        layers = [nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2,
                            padding_mode=mode, bias=norm is None)]
        if norm:
            layers.append(norm_layer(norm, cout))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        return nn.Sequential(*layers)

    class Residual(nn.Module):
        """x + block2(block1(x)); block2 has no ReLU."""

        def __init__(self, channels, norm, padding):
            super().__init__()
            self.body = nn.Sequential(
                conv_block(channels, channels, 3, norm=norm, padding=padding),
                conv_block(channels, channels, 3, norm=norm, padding=padding, relu=False),
            )

        def forward(self, x):
            return x + self.body(x)

    def upsample_block(cin, cout, upsampling, norm, padding):
        if upsampling == "transpose":
            return nn.Sequential(
                nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1,
                                   bias=False),
                norm_layer(norm, cout), nn.ReLU(inplace=True),
            )
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                             conv_block(cin, cout, 3, norm=norm, padding=padding))

    class TorchTransformNet(nn.Module):
        """`TransformNet`'s twin: c9s1-F, d2F, d4F, R4F×n, u2F, uF, c9s1-3.

        NCHW images in [0, 255] in, the same out (127.5·(tanh + 1)). The
        9×9 output convolution is a plain one (TransformNet's space-to-depth
        form is the same arithmetic). Sides must be multiples of 4. With
        TransformNet's weights it computes TransformNet's function (reflect
        padding, resize-conv), except for a one-pixel shift of the sampling
        grid where TF's "same" pads none before and one after: the
        transposed convolutions (padding 1, output padding 1 here) and
        zero-padded stride-2 convolutions (one pixel each side here). Sizes
        and FLOPs are the same.
        """

        def __init__(self, filters=32, num_residual_blocks=5, normalization="instance",
                     upsampling="resize_conv", padding="reflect", residual="standard"):
            super().__init__()
            if residual != "standard":
                raise ValueError(f"The PyTorch twin has standard residual blocks only; got "
                                 f"residual={residual!r}.")
            check_choice("normalization", normalization, NORMALIZATIONS)
            check_choice("upsampling", upsampling, UPSAMPLINGS)
            check_choice("padding", padding, PADDINGS)
            f, norm = filters, normalization
            self.encoder = nn.Sequential(
                conv_block(3, f, 9, norm=norm, padding=padding),
                conv_block(f, 2 * f, 3, stride=2, norm=norm, padding=padding),
                conv_block(2 * f, 4 * f, 3, stride=2, norm=norm, padding=padding),
            )
            self.residuals = nn.Sequential(
                *[Residual(4 * f, norm, padding) for _ in range(num_residual_blocks)])
            self.decoder = nn.Sequential(
                upsample_block(4 * f, 2 * f, upsampling, norm, padding),
                upsample_block(2 * f, f, upsampling, norm, padding),
            )
            self.output_conv = conv_block(f, 3, 9, padding=padding, relu=False)

        def forward(self, images):
            x = images / 127.5 - 1.0
            x = self.decoder(self.residuals(self.encoder(x)))
            return 127.5 * (torch.tanh(self.output_conv(x)) + 1.0)

    class TorchVGGFeatures(nn.Module):
        """Frozen VGG-16 up to relu4_3 with VGG's preprocessing (RGB→BGR,
        ImageNet mean subtracted, 0–255), returning the named ReLU taps."""

        def __init__(self):
            super().__init__()
            layers, self.tap_index = [], {}
            channels, block, conv = 3, 1, 0
            for spec in _VGG_LAYERS:
                if spec == "M":
                    layers.append(nn.MaxPool2d(2, 2))
                    block, conv = block + 1, 0
                    continue
                layers += [nn.Conv2d(channels, spec, 3, padding=1), nn.ReLU(inplace=True)]
                channels, conv = spec, conv + 1
                self.tap_index[f"relu{block}_{conv}"] = len(layers) - 1
            self.layers = nn.Sequential(*layers)
            self.register_buffer("bgr_mean", torch.tensor(_BGR_MEAN).view(1, 3, 1, 1))
            self.requires_grad_(False)
            self.eval()

        def forward(self, images, taps):
            """{tap: features} for `taps`; stops after the deepest one."""
            unknown = set(taps) - set(self.tap_index)
            if unknown:
                raise ValueError(f"Unknown VGG-16 taps {sorted(unknown)}; known: "
                                 f"{', '.join(self.tap_index)}.")
            wanted = {self.tap_index[tap]: tap for tap in taps}
            x = torch.flip(images, dims=(1,)) - self.bgr_mean
            out = {}
            for index, layer in enumerate(self.layers[: max(wanted) + 1]):
                x = layer(x)
                if index in wanted:
                    out[wanted[index]] = x
            return out

    return TorchTransformNet, TorchVGGFeatures


def transform_net(model_config, memory_format=DEFAULT_MEMORY_FORMAT):
    """The twin of the `TransformNet` that `model_config` (a config's `model`
    section or a dict with its fields) describes, in training mode."""
    torch = require_torch()
    get = model_config.get
    net = _modules()[0](
        filters=get("filters", 32), num_residual_blocks=get("num_residual_blocks", 5),
        normalization=get("normalization", "instance"),
        upsampling=get("upsampling", "resize_conv"), padding=get("padding", "reflect"),
        residual=get("residual", "standard"),
    )
    return net.to(memory_format=_memory_format(torch, memory_format)).train()


def vgg_features(memory_format=DEFAULT_MEMORY_FORMAT):
    """VGG-16 to relu4_3, random frozen weights."""
    torch = require_torch()
    return _modules()[1]().to(memory_format=_memory_format(torch, memory_format))


def to_torch_images(images, memory_format=DEFAULT_MEMORY_FORMAT):
    """(B, H, W, 3) float [0, 255] numpy → float32 NCHW tensor in `memory_format`."""
    torch = require_torch()
    tensor = torch.as_tensor(images, dtype=torch.float32).permute(0, 3, 1, 2)
    return tensor.contiguous(memory_format=_memory_format(torch, memory_format))


def gram_matrix(features):
    """(B, C, C) Gram matrices FᵀF/(C·H·W) of (B, C, H, W) features."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def total_variation_loss(images):
    """0.5·Σ(Δx² + Δy²) per image, averaged over the batch."""
    dy = images[:, :, 1:, :] - images[:, :, :-1, :]
    dx = images[:, :, :, 1:] - images[:, :, :, :-1]
    return 0.5 * (dy.square().sum() + dx.square().sum()) / images.shape[0]


class JohnsonStep:
    """One PyTorch eager train step of the Johnson config per call.

    Args:
        config: a training config (`configs/johnson.py`, as the benchmark
            sets it up: `training.benchmark_config`); its model, VGG taps,
            style image, loss weights and learning rate are used.
        images: (B, H, W, 3) float numpy in [0, 255], the fixed batch.
        memory_format: `"channels_last"` or `"contiguous"`.

    Calling it runs the step and returns the loss (a float, so it blocks).
    """

    def __init__(self, config, images, memory_format=DEFAULT_MEMORY_FORMAT):
        torch = require_torch()
        from dstyle_tf import training as training_lib

        extra = {name: config.loss.get(name, 0.0) for name in (
            "depth_weight", "edge_weight", "stability_weight", "distill_weight")}
        if any(extra.values()):
            raise ValueError(f"The PyTorch reference is the Johnson step: content, style and "
                             f"TV terms only; got {extra}.")
        if images.shape[1] % 4 or images.shape[2] % 4:
            raise ValueError(f"Image sides must be multiples of 4; got {images.shape[1:3]}.")
        self.memory_format = memory_format
        self.net = transform_net(config.model, memory_format)
        self.vgg = vgg_features(memory_format)
        self.content_layer = config.vgg.content_layer
        self.style_layers = tuple(config.vgg.style_layers)
        self.taps = tuple(dict.fromkeys([self.content_layer, *self.style_layers]))
        self.weights = (config.loss.content_weight, config.loss.style_weight,
                        config.loss.tv_weight)
        self.images = to_torch_images(images, memory_format)
        style = to_torch_images(training_lib.load_style_image(config.style)[None], memory_format)
        with torch.no_grad():
            features = self.vgg(style, self.style_layers)
            self.style_grams = [gram_matrix(features[name]) for name in self.style_layers]
        self.optimizer = torch.optim.Adam(self.net.parameters(),
                                          lr=config.optimizer.learning_rate, eps=ADAM_EPSILON)

    def losses(self, stylized):
        """{content, style, tv, loss} of a stylised batch (tensors)."""
        torch = require_torch()
        with torch.no_grad():
            target = self.vgg(self.images, (self.content_layer,))[self.content_layer]
        features = self.vgg(stylized, self.taps)
        terms = {
            "content": (features[self.content_layer] - target).square().mean(),
            "style": sum((gram_matrix(features[name]) - gram).square().mean()
                         for name, gram in zip(self.style_layers, self.style_grams)),
            "tv": total_variation_loss(stylized),
        }
        content_weight, style_weight, tv_weight = self.weights
        terms["loss"] = (content_weight * terms["content"] + style_weight * terms["style"]
                         + tv_weight * terms["tv"])
        return terms

    def __call__(self):
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.losses(self.net(self.images))["loss"]
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())


def conv_costs(module, input_shape, **forward_kwargs):
    """[(name, FLOPs)] of every Conv2d / ConvTranspose2d call of one forward
    pass of `module` on zeros of NCHW `input_shape` (forward hooks, in call
    order), with the formulas of `dstyle_tf.benchmark.flops`.
    `forward_kwargs` go to the call (the VGG's taps)."""
    torch = require_torch()
    nn = torch.nn
    costs, handles = [], []

    def hook(layer, inputs, output, name):
        if isinstance(layer, nn.ConvTranspose2d):
            count = flops_lib.conv2d_transpose_flops(
                tuple(inputs[0].shape), layer.kernel_size, layer.out_channels // layer.groups)
        else:
            count = flops_lib.conv2d_flops(
                tuple(output.shape), layer.kernel_size, layer.in_channels, layer.groups)
        costs.append((name, count))

    for name, layer in module.named_modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            handles.append(layer.register_forward_hook(functools.partial(hook, name=name)))
    was_training = module.training
    try:
        module.eval()
        with torch.no_grad():
            module(torch.zeros(input_shape), **forward_kwargs)
    finally:
        module.train(was_training)
        for handle in handles:
            handle.remove()
    return costs


def _trainable(torch_module):
    return sum(p.numel() for p in torch_module.parameters() if p.requires_grad)


def check_parity(step, keras_net, keras_vgg, image_size):
    """Raises `ParityError` unless `step`'s networks match the Keras ones
    (`keras_net` a `TransformNet`, `keras_vgg` a `VGGFeatures`).

    Compared, for one image of `image_size`²: the trainable parameter counts
    of the transformation networks, and the analytic forward FLOPs of every
    convolution, layer by layer, of the transformation networks and of the
    loss networks (to the deepest tap); the loss networks must have no
    trainable weights. Conv FLOPs are linear in the batch, so one image
    stands for any batch.

    Returns:
        {"transform_net": {trainable, flops}, "vgg": {flops}} per image.
    """
    keras_shape = (1, image_size, image_size, 3)
    torch_shape = (1, 3, image_size, image_size)
    problems = []
    if not keras_net.built:
        keras_net.build()
    keras_params = sum(int(v.numpy().size) for v in keras_net.trainable_weights)
    torch_params = _trainable(step.net)
    if keras_params != torch_params:
        problems.append(f"trainable parameters: Keras {keras_params:,}, PyTorch {torch_params:,}")
    if keras_vgg.trainable_weights or _trainable(step.vgg):
        problems.append("the loss network has trainable weights")
    pairs = (
        ("TransformNet", flops_lib.layer_costs(keras_net, keras_shape, training=False),
         conv_costs(step.net, torch_shape)),
        ("VGG-16", flops_lib.layer_costs(keras_vgg, keras_shape),
         conv_costs(step.vgg, torch_shape, taps=step.taps)),
    )
    totals = {}
    for label, keras_costs, torch_costs in pairs:
        keras_flops = [cost.flops for cost in keras_costs]
        torch_flops = [count for _, count in torch_costs]
        totals[label] = sum(keras_flops)
        if keras_flops != torch_flops:
            problems.append(
                f"{label} forward conv FLOPs per image: Keras {sum(keras_flops):,} in "
                f"{len(keras_flops)} convs, PyTorch {sum(torch_flops):,} in {len(torch_flops)}")
    if problems:
        raise ParityError("The PyTorch twin does not match the Keras networks, so no ratio is "
                          "reported: " + "; ".join(problems) + ".")
    return {"transform_net": {"trainable": keras_params, "flops": totals["TransformNet"]},
            "vgg": {"flops": totals["VGG-16"]}}
