"""tf.distribute: 2 logical CPU devices give the same training as 1 device."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

# Runs in a fresh process: logical devices must be set before TF starts.
SCRIPT = textwrap.dedent(
    """
    import json, os, sys, tempfile
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from dstyle_tf.data import synthetic_images
    from dstyle_tf.models import TransformNet
    from dstyle_tf.models.depth import DepthNetwork
    from dstyle_tf.models.vgg import VGGFeatures
    from dstyle_tf.training.trainer import StyleTransferTrainer

    images = synthetic_images(4, 32, seed=1)  # one global batch of 4
    style = synthetic_images(1, 32, seed=2)[0]
    # One of each for every kind (a second MirroredStrategy in the process would
    # number its collective ops from the start again, clashing with the first's).
    one_device = tf.distribute.OneDeviceStrategy("/cpu:0")
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


    def compare(kind):
        # The same networks whichever kinds ran before (the loss networks are
        # quick to build; TensorFlow's start is what one process saves).
        keras.utils.set_random_seed(0)
        vgg = VGGFeatures(weights_source=None)
        # "multistyle": two styles (conditional instance norm), the batch split
        # over them, so each replica's images carry different styles.
        multi = kind == "multistyle"
        # The depth term's reduction over replicas is checked once, in "multistyle";
        # "batch" checks the synchronised batch norm, without the depth network.
        depth = DepthNetwork(preset=None, input_size=126) if multi else None
        styles = dict(num_styles=2, style_names=["a", "b"]) if multi else {}
        init = TransformNet(filters=8, num_residual_blocks=1,
                            normalization="batch" if kind == "batch" else "instance", **styles)
        init.build()
        style_args = (dict(style_images=[style, synthetic_images(1, 32, seed=3)[0]], style_mode="split")
                      if multi else dict(style_image=style))
        call_args = dict(style_weights=np.eye(2, dtype="float32")[[0, 1, 0, 1]]) if multi else {}

        nets = []

        def run(strategy):
            with strategy.scope():
                net = TransformNet.from_config(init.get_config())
                net.build()
                net.set_weights(init.get_weights())
                trainer = StyleTransferTrainer(net, vgg, depth_net=depth,
                                               depth_weight=5.0 if multi else 0.0, **style_args)
                # Plain SGD: the weights' change is the gradient itself. (Adam
                # turns float noise in near-zero gradients into full-size steps.)
                trainer.compile(optimizer=keras.optimizers.SGD(1e-4))
            data = tf.data.Dataset.from_tensors(images).repeat()
            history = trainer.fit(data, steps_per_epoch=3, epochs=1, verbose=0, shuffle=False)
            nets.append(net)
            return {
                "replicas": strategy.num_replicas_in_sync,
                "loss": [float(v) for v in history.history["loss"]],
                "depth_loss": float(history.history.get("depth_loss", [0.0])[-1]),
                "style_loss_b": float(history.history.get("style_loss_b", [0.0])[-1]),
                "weights": [w.numpy().tolist() for w in net.trainable_weights],
                "initial": [w.numpy().tolist() for w in init.trainable_weights],
                "moving": [w.numpy().tolist() for w in net.non_trainable_weights],
                "synchronized": sorted({
                    layer.synchronized for layer in net._flatten_layers()
                    if isinstance(layer, keras.layers.BatchNormalization)}),
            }

        one = run(one_device)
        two = run(mirrored)
        # Saved under 2 replicas, loaded on one device: same weights, plain layers.
        path = os.path.join(tempfile.mkdtemp(), "net.keras")
        nets[1].save(path)
        loaded = keras.saving.load_model(path)
        two["reloaded_max_diff"] = float(np.abs(
            np.asarray(loaded(images, training=False, **call_args))
            - np.asarray(nets[1](images, training=False, **call_args))).max())
        two["reloaded_synchronized"] = any(
            getattr(layer, "synchronized", False) for layer in loaded._flatten_layers())
        return {"one": one, "two": two}


    # Every kind in one process: TensorFlow, VGG and the depth network start once.
    print(json.dumps({kind: compare(kind) for kind in sys.argv[1:]}))
    """
)


KINDS = ["multistyle", "batch"]


@pytest.fixture(scope="module")
def comparisons():
    """{kind: one device's and two replicas' results}, every kind in one process."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", SCRIPT, *KINDS], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("normalization", KINDS)
def test_mirrored_on_two_logical_cpus_matches_one_device(comparisons, normalization):
    import numpy as np

    out = comparisons[normalization]
    one, two = out["one"], out["two"]
    assert one["replicas"] == 1 and two["replicas"] == 2
    # Batch norm takes global-batch statistics only with several replicas.
    batch = normalization == "batch"
    assert one["synchronized"] == ([False] if batch else [])
    assert two["synchronized"] == ([True] if batch else [])
    assert len(one["moving"]) == (2 * 7 if batch else 0)  # mean, variance of 7 layers
    # Measured: losses agree to 1e-5 and moving statistics to 1e-4 (per-replica
    # batch statistics: losses 8% apart, moving statistics 0.1).
    assert two["reloaded_max_diff"] < 1e-3 and not two["reloaded_synchronized"]
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=5e-5)
    np.testing.assert_allclose(two["depth_loss"], one["depth_loss"], rtol=5e-5)
    np.testing.assert_allclose(two["style_loss_b"], one["style_loss_b"], rtol=5e-5)
    assert (one["style_loss_b"] > 0) == (normalization == "multistyle")
    assert (one["depth_loss"] > 0) == (normalization == "multistyle")
    for a, b in zip(one["moving"], two["moving"]):
        np.testing.assert_allclose(np.array(b), np.array(a), rtol=1e-3, atol=1e-3)
    # The updates (lr × summed gradient), all weights together. Measured 2%
    # apart for both norms (float noise of this random network's gradients;
    # one near-null direction, a beta before the next norm, differs fully);
    # per-replica batch statistics: 160% apart.
    initial = np.concatenate([np.ravel(w) for w in one["initial"]])
    update_one = np.concatenate([np.ravel(w) for w in one["weights"]]) - initial
    update_two = np.concatenate([np.ravel(w) for w in two["weights"]]) - initial
    assert np.linalg.norm(update_two - update_one) < 0.05 * np.linalg.norm(update_one)


def _free_ports(n):
    import socket

    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_multi_worker_training_on_two_local_processes(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    workdir = str(tmp_path / "run")
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_CONFIG=json.dumps(tf_config))
        cmd = [sys.executable, "-m", "dstyle_tf.train", "--config=configs/smoke.py",
               f"--workdir={workdir}", "--config.data.image_size=32", "--config.train.steps=4",
               "--config.train.log_every=2", "--config.train.checkpoint_every=2",
               "--config.train.distribute=multi_worker",
               # The paper's batch norm: synchronised across the two workers.
               "--config.model.normalization=batch",
               # The workers' coordination is under test (the losses' reduction over
               # replicas is above): a tiny network without the depth term.
               "--config.model.filters=4", "--config.loss.depth_weight=0.0"]
        procs.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    outputs = [p.communicate(timeout=400) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
        assert "Done at step 4" in out
    assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == [
        "checkpoint", "ckpt-2.data-00000-of-00001", "ckpt-2.index",
        "ckpt-4.data-00000-of-00001", "ckpt-4.index",
    ]
    # Only the chief writes TensorBoard events and the model.
    assert len(os.listdir(os.path.join(workdir, "tensorboard", "train"))) == 1
    assert os.path.isfile(os.path.join(workdir, "transform_net.keras"))
