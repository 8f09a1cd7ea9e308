r"""Lite network: the demo setup with a much cheaper transformation network.

Same loss network (ImageNet VGG-16), photos (scikit-image samples), bundled
styles, weights and steps as `configs/demo.py`; the network has 12 filters,
3 residual blocks and depthwise-separable residual convolutions
(`TransformNet(residual="depthwise")`): 7.0 GFLOP at 512², against 17.4 for
the demo's network and 80.6 for the paper's (the project's FLOP counter,
`dstyle_tf.benchmark.flops`). At this size the 9×9 input and output
convolutions and the upsampling convolutions are most of the arithmetic; the
residual blocks are about 0.5 GFLOP.

Trained directly:

    python -m dstyle_tf.train --config=configs/lite.py --workdir=runs/lite

or distilled from a trained full network (any training workdir or .keras
file of a single-style network): the student also matches the teacher's
output, `loss.distill_weight` · mean((f(x) − f_T(x))²) on [0, 255]
(`dstyle_tf.losses.distill_loss`; 206 ≈ 25 dB PSNR to the teacher), and every
other term still applies:

    python -m dstyle_tf.train --config=configs/lite.py --workdir=runs/lite_distilled \
        --config.distill.teacher=runs/demo --config.loss.distill_weight=1000

Optional argument after the colon: a bundled style name or a style image path
(as for the demo; a teacher should have the same style).
"""

from configs import demo


def get_config(arg=None):
    config = demo.get_config(arg)

    config.model.filters = 12
    config.model.num_residual_blocks = 3
    config.model.residual = "depthwise"

    # λ of the distillation term (off unless a teacher is given). At 1000 a
    # student at 25 dB to its teacher (distill_loss ≈ 206) weighs about as
    # much as the demo's content term late in training (≈ 2.7e5 with the
    # ImageNet VGG-16, docs/results.md).
    config.loss.distill_weight = 0.0
    return config
