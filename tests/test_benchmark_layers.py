"""Per-layer TFLite profile: the stages chain back into the network, and
each stage's float32 and int8 models are timed."""

import numpy as np
import pytest

from dstyle_tf.benchmark import flops as flops_lib
from dstyle_tf.benchmark import layers as layers_lib
from dstyle_tf.models.transform_net import TransformNet


def _net(**kwargs):
    net = TransformNet(**{"filters": 4, "num_residual_blocks": 2, **kwargs})
    net.build()
    return net


@pytest.mark.parametrize("arguments", [
    {}, {"normalization": "batch", "upsampling": "transpose"}, {"residual": "depthwise"},
])
def test_stages_chain_into_the_network(arguments):
    net = _net(**arguments)
    image = np.random.default_rng(0).uniform(0, 255, (24, 32, 3)).astype(np.float32)
    inputs, outputs = layers_lib.stage_inputs(net, [image])
    names = [name for name, *_ in layers_lib.stages(net)]
    assert names == ["c9s1", "d1", "d2", "res1/block1", "res1/block2", "res2/block1",
                     "res2/block2", "u1", "u2", "c9s1_out"]
    assert inputs["d2"][0].shape == (12, 16, 8)
    assert inputs["c9s1_out"][0].shape == (24, 32, 4)
    expected = net(image[None], training=False).numpy()[0]
    np.testing.assert_allclose(outputs[0], expected, atol=1e-3)


def test_multi_style_networks_are_refused():
    net = TransformNet(filters=4, num_residual_blocks=1, num_styles=2)
    net.build()
    with pytest.raises(ValueError, match="single-style"):
        layers_lib.stages(net)


def test_layers_section_times_every_stage_in_both_variants():
    from dstyle_tf.benchmark import report as report_lib
    from dstyle_tf.benchmark import suite

    options = suite.Options.quick_options(sections=("layers",), model="f4b0",
                                          calibration_count=2)
    report = suite.run(options, log=lambda message: None)
    (profile,) = report["layers"]
    assert profile["size"] == [32, 32]
    assert [row["stage"] for row in profile["stages"]] == [
        "c9s1", "d1", "d2", "u1", "u2", "c9s1_out"]
    for row in profile["stages"]:
        for key in ("float32_ms", "int8_ms", "float32_conv_ms", "int8_conv_ms",
                    "int8_boundary_ms"):
            assert row[key] > 0
        assert row["gflop"] > 0
        assert row["int8_speedup"] == pytest.approx(row["float32_ms"] / row["int8_ms"])
    total = sum(row["gflop"] for row in profile["stages"])
    assert profile["totals"]["gflop"] == pytest.approx(total)
    net = TransformNet(filters=4, num_residual_blocks=0)
    net.build()
    assert total == pytest.approx(
        flops_lib.layer_flops(net, (1, 32, 32, 3), training=False) / 1e9)
    text = report_lib.format_report(report)
    assert "== layers ==" in text and "sum of stages" in text and "c9s1_out" in text
