"""The PyTorch eager reference of the training-throughput comparison (section `torch`).

PyTorch is optional (`pip install torch`, not in the test extra): the tests
that need it skip without it; the message for its absence is tested without it.
Tiny sizes only: 32² images, batch 2, 4 filters. No timing assertions.
"""

import json
import sys

import numpy as np
import pytest

from dstyle_tf import data as data_lib
from dstyle_tf import losses
from benchmarks import torch_reference
from dstyle_tf import training as training_lib
from dstyle_tf.benchmark import report
from dstyle_tf.benchmark import training
from dstyle_tf.errors import UserError

SIZE, BATCH = 32, 2
ARCHITECTURES = {"paper": ("batch", "transpose"), "default": ("instance", "resize_conv")}


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture
def no_torch(monkeypatch):
    """`import torch` fails, as where it is not installed."""
    monkeypatch.setitem(sys.modules, "torch", None)


def tiny_config(architecture="paper", filters=4):
    config = training.benchmark_config("johnson", SIZE, BATCH)
    config.model.normalization, config.model.upsampling = ARCHITECTURES[architecture]
    config.model.filters = filters
    config.model.num_residual_blocks = 2
    config.style.size = SIZE
    return config


def tiny_step(config, memory_format="channels_last"):
    images = data_lib.synthetic_images(BATCH, SIZE, seed=7)
    return torch_reference.JohnsonStep(config, images, memory_format)


def test_missing_torch_is_a_one_line_error_naming_the_install(no_torch):
    with pytest.raises(torch_reference.TorchUnavailableError, match="pip install torch") as info:
        torch_reference.require_torch()
    assert isinstance(info.value, UserError)
    assert "\n" not in str(info.value) and "torch-reference" in str(info.value)


def test_benchmark_cli_without_torch_fails_before_running_anything(no_torch, tmp_path, capsys):
    from benchmarks import torch_comparison as cli

    output = tmp_path / "torch.json"
    try:
        with pytest.raises(SystemExit) as info:
            cli.run(["torch_comparison", "--quick", f"--output={output}"])
    finally:
        cli.FLAGS.unparse_flags()
    assert info.value.code == 2
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if line.startswith("error:")]
    assert "pip install torch" in line and "Traceback" not in err
    assert "matmul peak" not in err  # nothing ran
    assert not output.exists()


def test_twin_output_has_the_input_shape_and_range(torch):
    step = tiny_step(tiny_config())
    with torch.no_grad():
        out = step.net(step.images)
    assert tuple(out.shape) == (BATCH, 3, SIZE, SIZE)
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 255
    assert out.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_parity_with_the_keras_networks(torch, vgg, architecture):
    config = tiny_config(architecture)
    net = training_lib.build_transform_net(config.model)
    net.build()
    parity = torch_reference.check_parity(tiny_step(config), net, vgg, SIZE)
    assert parity["transform_net"]["trainable"] == sum(
        int(np.prod(v.shape)) for v in net.trainable_weights)
    assert parity["transform_net"]["flops"] > 0 and parity["vgg"]["flops"] > 0


def test_parity_check_raises_for_a_different_network(torch, vgg):
    step = tiny_step(tiny_config("paper"))
    wider = training_lib.build_transform_net(tiny_config("paper", filters=6).model)
    with pytest.raises(torch_reference.ParityError, match="trainable parameters"):
        torch_reference.check_parity(step, wider, vgg, SIZE)
    # Same weights, other arithmetic: resize-conv runs its 3×3 convs at twice
    # the resolution of the transposed ones.
    other = tiny_config("paper")
    other.model.upsampling = "resize_conv"
    resize = training_lib.build_transform_net(other.model)
    with pytest.raises(torch_reference.ParityError, match="FLOPs") as info:
        torch_reference.check_parity(step, resize, vgg, SIZE)
    assert "trainable" not in str(info.value)


def _copy_keras_weights(net, twin, torch):
    """TransformNet's weights into its twin, block by block in forward order."""
    blocks = list(net.encoder)
    for residual in net.residuals:
        blocks += [residual.block1, residual.block2]
    blocks += [up.conv if up.upsampling == "resize_conv" else up for up in net.decoder]
    blocks.append(net.output_conv)
    convs = [m for m in twin.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    norms = [m for m in twin.modules() if isinstance(m, (torch.nn.InstanceNorm2d,
                                                         torch.nn.BatchNorm2d))]
    assert len(convs) == len(blocks) and len(norms) == len(blocks) - 1
    with torch.no_grad():
        for block, conv in zip(blocks, convs):
            # (kh, kw, in, out) and the transpose's (kh, kw, out, in) -> PyTorch's order.
            conv.weight.copy_(torch.from_numpy(np.transpose(block.conv.kernel.numpy(),
                                                            (3, 2, 0, 1)).copy()))
            if conv.bias is not None:
                conv.bias.copy_(torch.from_numpy(block.conv.bias.numpy()))
        for block, norm in zip(blocks, norms):
            norm.weight.copy_(torch.from_numpy(block.norm.gamma.numpy()))
            norm.bias.copy_(torch.from_numpy(block.norm.beta.numpy()))


def test_twin_with_the_keras_weights_computes_the_keras_network(torch):
    import keras

    keras.utils.set_random_seed(1)
    config = tiny_config("default")
    net = training_lib.build_transform_net(config.model)
    net.build()
    for weight in net.weights:  # offsets and scales away from 0 and 1
        if weight.path.endswith(("gamma", "beta", "bias")):
            weight.assign(weight.numpy() + np.random.default_rng(0).normal(
                0, 0.3, weight.shape).astype(np.float32))
    twin = torch_reference.transform_net(config.model)
    _copy_keras_weights(net, twin, torch)
    images = data_lib.synthetic_images(BATCH, SIZE, seed=3)
    with torch.no_grad():
        out = twin(torch_reference.to_torch_images(images)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(out, net(images, training=True).numpy(), atol=0.02)


def test_vgg_twin_has_the_keras_preprocessing_and_taps(torch, vgg):
    twin = torch_reference.vgg_features()
    keras_convs = [layer for layer in vgg.features.layers if "conv" in layer.name]
    convs = [m for m in twin.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == len(keras_convs) == 10
    with torch.no_grad():
        for layer, conv in zip(keras_convs, convs):
            conv.weight.copy_(torch.from_numpy(np.transpose(layer.kernel.numpy(),
                                                            (3, 2, 0, 1)).copy()))
            conv.bias.copy_(torch.from_numpy(layer.bias.numpy()))
        images = data_lib.synthetic_images(1, SIZE, seed=5)
        taps = twin(torch_reference.to_torch_images(images), vgg.taps)
    expected = vgg(images)
    for name in vgg.taps:
        want = expected[name].numpy()
        got = taps[name].permute(0, 2, 3, 1).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3 * np.abs(want).max())


def test_losses_follow_dstyle_tf_losses(torch):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2, 5, 6, 7)).astype(np.float32)  # NHWC
    nchw = torch.from_numpy(features).permute(0, 3, 1, 2)
    np.testing.assert_allclose(torch_reference.gram_matrix(nchw).numpy(),
                               losses.gram_matrix(features).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(torch_reference.total_variation_loss(nchw)),
                               float(losses.total_variation_loss(features)), rtol=1e-5)


def test_one_step_is_finite_and_changes_the_weights(torch):
    step = tiny_step(tiny_config("default"), memory_format="contiguous")
    before = [p.detach().clone() for p in step.net.parameters()]
    vgg_before = [p.detach().clone() for p in step.vgg.parameters()]
    terms = step.losses(step.net(step.images))
    assert all(torch.isfinite(value) for value in terms.values())
    loss = step()
    assert np.isfinite(loss) and loss > 0
    after = list(step.net.parameters())
    assert all(torch.isfinite(p).all() for p in after)
    changed = sum(not torch.equal(a, b) for a, b in zip(before, after))
    assert changed == len(before)  # Adam moves every weight with a gradient
    assert all(torch.equal(a, b) for a, b in zip(vgg_before, step.vgg.parameters()))


def test_reference_is_the_johnson_step_only(torch):
    config = tiny_config()
    config.loss.depth_weight = 5.0
    with pytest.raises(ValueError, match="Johnson step"):
        tiny_step(config)


def test_section_quick_run_reports_ratios_against_pytorch(torch, tmp_path):
    from benchmarks import torch_comparison

    result = torch_comparison.run(SIZE, BATCH, repeats=1, warmup=1, threads=1,
                                  xla_modes=(False,), configs=("johnson",),
                                  depth_architecture="tiny", log=lambda message: None)
    rows = {(r["framework"], r["config"]): r for r in result["results"]}
    assert set(rows) == {("pytorch_eager", "johnson"), ("tensorflow", "johnson")}
    tf_row = rows[("tensorflow", "johnson")]
    assert result["ratios"] == {"johnson": tf_row["ratio_vs_torch"]}
    assert tf_row["ratio_vs_torch"] == pytest.approx(
        tf_row["median_ms"] / rows[("pytorch_eager", "johnson")]["median_ms"])
    assert tf_row["interleaved"] and np.isfinite(tf_row["ratio_vs_torch"])
    conditions = result["conditions"]
    assert conditions["torch"] == torch.__version__ and conditions["threads"] == 1
    assert set(conditions["cpu_isa"]) >= {"AVX2"} or "NEON" in conditions["cpu_isa"]
    share = result["other_cpu_share"]
    assert share is None or 0 <= share <= 1

    section = {"torch": result}
    [target] = torch_comparison.torch_targets(result)
    assert target["passed"] is None and "no verdict" in target["note"]  # not at 256², batch 4
    text = torch_comparison.torch_table(result)
    assert "pytorch_eager" in text and "parity checked" in text and "CPU instruction sets" in text
    report.write_json(section, tmp_path / "torch.json")
    assert json.loads((tmp_path / "torch.json").read_text())["torch"]["ratios"]
