"""Training under faults: signals, SIGKILL, damaged checkpoints, NaN losses."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from dstyle_tf import training
from dstyle_tf.training.callbacks import NonFiniteLossError
from dstyle_tf.training.trainer import StyleTransferTrainer

from conftest import REPO
from conftest import smoke_config
from test_train_cli import checkpoint_steps
from test_train_cli import run_train

# What is under test is the process and its checkpoints, not the loss: a tiny
# network without the depth term (its tracing is most of a short run's time).
TINY = {"model__filters": 4, "model__num_residual_blocks": 1, "loss__depth_weight": 0.0}
TINY_ARGS = [f"--config.{key.replace('__', '.')}={value}" for key, value in TINY.items()]
TRAIN_ARGS = [
    "--config=configs/smoke.py", "--config.data.image_size=32", "--config.train.log_every=3",
    "--config.train.checkpoint_every=3", "--config.train.sample_every=30", *TINY_ARGS,
]


def start_train(workdir, steps):
    cmd = [sys.executable, "-m", "dstyle_tf.train", f"--workdir={workdir}", *TRAIN_ARGS,
           f"--config.train.steps={steps}"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_checkpoint(workdir, proc, timeout=240):
    state = os.path.join(workdir, "checkpoints", "checkpoint")
    deadline = time.time() + timeout
    while not os.path.exists(state):
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_saves_a_checkpoint_and_exits_cleanly(tmp_path, signum):
    workdir = str(tmp_path / "run")
    proc = start_train(workdir, steps=10_000)
    wait_for_checkpoint(workdir, proc)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, stderr[-3000:]
    assert "Traceback" not in stderr
    name = signal.Signals(signum).name
    assert f"Stopped by {name} at step" in stderr and "Run the same command to resume" in stderr
    stopped_at = int(stderr.split(f"Stopped by {name} at step ")[1].split(";")[0])
    assert checkpoint_steps(workdir)[-1] == stopped_at
    assert not os.path.exists(os.path.join(workdir, "transform_net.keras"))


@pytest.mark.slow
def test_sigkill_then_rerun_finishes_at_the_configured_step(tmp_path):
    workdir = str(tmp_path / "run")
    proc = start_train(workdir, steps=10_000)
    wait_for_checkpoint(workdir, proc)
    time.sleep(np.random.default_rng().uniform(0.0, 1.0))  # any moment, writes included
    proc.kill()
    proc.communicate()
    before = checkpoint_steps(workdir)[-1]
    result = run_train(workdir, f"--config.train.steps={before + 6}", "--config.train.sample_every=30",
                       *TINY_ARGS)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resumed from" in result.stderr
    assert checkpoint_steps(workdir)[-1] == before + 6
    assert os.path.isfile(os.path.join(workdir, "transform_net.keras"))


def test_damaged_newest_checkpoint_falls_back_to_the_previous(tmp_path):
    workdir = str(tmp_path / "run")
    config = smoke_config(data__image_size=32, train__steps=6, train__log_every=3,
                          train__checkpoint_every=3, **TINY)
    training.train(config, workdir)
    newest = os.path.join(workdir, "checkpoints", "ckpt-6.data-00000-of-00001")
    with open(newest, "r+b") as f:
        f.truncate(100)
    config.train.steps = 9
    result = training.train(config, workdir)
    assert result.step == 9
    assert 9 in checkpoint_steps(workdir)


def test_non_finite_loss_stops_without_saving(tmp_path, monkeypatch):
    original = StyleTransferTrainer.compute_losses

    def poisoned(self, images, stylized, targets=None, styles=None):
        terms = original(self, images, stylized, targets, styles)
        # From the 5th update on, the style term overflows.
        bad = self.optimizer.iterations >= 4
        terms["style_loss"] = tf.where(bad, np.float32("inf"), terms["style_loss"])
        terms["loss"] = terms["loss"] + terms["style_loss"]
        return terms

    monkeypatch.setattr(StyleTransferTrainer, "compute_losses", poisoned)
    workdir = str(tmp_path / "run")
    config = smoke_config(data__image_size=32, train__steps=12, train__log_every=6,
                          train__checkpoint_every=3, **TINY)
    with pytest.raises(NonFiniteLossError, match=r"step 5 in .*style_loss") as info:
        training.train(config, workdir)
    assert "ckpt-3" in str(info.value)
    assert checkpoint_steps(workdir) == [3]
    assert not os.path.exists(os.path.join(workdir, "transform_net.keras"))
    # The kept checkpoint holds finite weights.
    reader = tf.train.load_checkpoint(os.path.join(workdir, "checkpoints", "ckpt-3"))
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if np.issubdtype(np.asarray(value).dtype, np.floating):
            assert np.all(np.isfinite(value)), name


def test_training_on_a_messy_folder_runs_to_the_end(tmp_path, rng):
    from test_data import _messy_folder

    bad = _messy_folder(tmp_path / "photos", rng)
    workdir = str(tmp_path / "run")
    config = smoke_config(data__source="folder", data__folder=str(tmp_path / "photos"),
                          data__image_size=32, data__batch_size=3, train__steps=6,
                          train__log_every=3, train__checkpoint_every=3, **TINY)
    result = training.train(config, workdir)
    assert result.step == 6 and os.path.isfile(os.path.join(workdir, "transform_net.keras"))
    listed = open(os.path.join(workdir, "skipped_images.txt")).read().splitlines()
    assert {os.path.basename(line.split("\t")[0]) for line in listed} == bad
