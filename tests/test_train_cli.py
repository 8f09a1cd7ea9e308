"""`python -m dstyle_tf.train` end to end: artefacts, resume, errors."""

import json
import os
import subprocess
import sys

import keras

import dstyle_tf  # noqa: F401  (registers TransformNet for load_model)
import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO
from conftest import run_commands

pytestmark = pytest.mark.slow


def train_command(workdir, *overrides):
    """`dstyle_tf.train` and its arguments: configs/smoke.py at 32², with overrides."""
    return [
        "dstyle_tf.train", "--config=configs/smoke.py",
        f"--workdir={workdir}", "--config.data.image_size=32",
        "--config.train.log_every=3", "--config.train.checkpoint_every=3",
        "--config.train.sample_every=3", *overrides,
    ]


def run_train(workdir, *overrides):
    cmd = [sys.executable, "-m", *train_command(workdir, *overrides)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, timeout=300)


def checkpoint_steps(workdir):
    state = tf.train.get_checkpoint_state(os.path.join(workdir, "checkpoints"))
    return sorted({int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths})


def scalar_events(logdir, tag):
    values = []
    for root, _, files in os.walk(logdir):
        for name in sorted(files):
            for event in tf.compat.v1.train.summary_iterator(os.path.join(root, name)):
                for v in event.summary.value:
                    if v.tag == tag:
                        values.append((event.step, float(tf.make_ndarray(v.tensor))))
    return sorted(values)


# The artefacts and the resume do not depend on the loss: a 4-filter network with
# one residual block, without the depth term (its tracing is most of a short run's
# time; test_losses_go_down_over_a_smoke_run trains with all of smoke.py).
NO_DEPTH = ("--config.loss.depth_weight=0.0", "--config.model.filters=4",
            "--config.model.num_residual_blocks=1")


def test_smoke_training_writes_artefacts_and_resumes(tmp_path):
    workdir = str(tmp_path / "run")
    first = run_train(workdir, "--config.train.steps=6", *NO_DEPTH)
    assert first.returncode == 0, first.stderr[-3000:]
    assert checkpoint_steps(workdir) == [3, 6]
    assert os.path.isfile(os.path.join(workdir, "transform_net.keras"))
    assert json.load(open(os.path.join(workdir, "final_losses.json")))["step"] == 6
    assert json.load(open(os.path.join(workdir, "config.json")))["train"]["steps"] == 6
    tags = {v.tag for root, _, files in os.walk(workdir + "/tensorboard") for f in files
            for e in tf.compat.v1.train.summary_iterator(os.path.join(root, f)) for v in e.summary.value}
    assert any("content|stylized" in t for t in tags) and "loss" in tags

    # The saved network loads on its own and keeps odd sizes.
    net = keras.models.load_model(os.path.join(workdir, "transform_net.keras"))
    out = net(np.random.default_rng(0).uniform(0, 255, (1, 37, 53, 3)).astype("float32"))
    assert out.shape == (1, 37, 53, 3) and out.dtype == "float32"

    # Same command, more steps: resumes from step 6 instead of restarting.
    second = run_train(workdir, "--config.train.steps=12", *NO_DEPTH)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resumed from" in second.stderr and "ckpt-6" in second.stderr
    assert checkpoint_steps(workdir) == [6, 9, 12]  # keep_checkpoints=3
    steps = [s for s, _ in scalar_events(workdir + "/tensorboard/train", "loss")]
    assert steps == [3, 6, 9, 12]  # continues the global step

    # Finished: running it again trains nothing and rewrites nothing.
    model_file = os.path.join(workdir, "transform_net.keras")
    before = (os.stat(model_file).st_mtime_ns, open(os.path.join(workdir, "final_losses.json")).read())
    third = run_train(workdir, "--config.train.steps=12", *NO_DEPTH)
    assert third.returncode == 0 and checkpoint_steps(workdir) == [6, 9, 12]
    after = (os.stat(model_file).st_mtime_ns, open(os.path.join(workdir, "final_losses.json")).read())
    assert after == before and "Done at step 12" in third.stdout


def test_losses_go_down_over_a_smoke_run(tmp_path):
    workdir = str(tmp_path / "run")
    result = run_train(workdir, "--config.train.steps=30", "--config.train.log_every=10")
    assert result.returncode == 0, result.stderr[-3000:]
    losses = [v for _, v in scalar_events(workdir + "/tensorboard/train", "loss")]
    assert len(losses) == 3 and losses[-1] < losses[0]


@pytest.fixture(scope="module")
def untrained_commands(tmp_path_factory):
    """A bad config's run and --helpfull, in one fresh process (neither trains)."""
    workdir = tmp_path_factory.mktemp("bad_config") / "run"
    return run_commands(train_command(workdir, "--config.vgg.style_layers=('relu1_2','relu8_8')"),
                        ["dstyle_tf.train", "--helpfull"])


def test_bad_config_exits_2_with_one_line(untrained_commands):
    result = untrained_commands[0]
    assert result.returncode == 2
    assert "Unknown VGG-16 layer 'relu8_8'" in result.stderr and "Traceback" not in result.stderr


def test_helpfull_documents_flags(untrained_commands):
    result = untrained_commands[1]
    # absl exits with status 1 after printing --helpfull.
    assert "--workdir" in result.stdout and "--config" in result.stdout
