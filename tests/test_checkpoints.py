"""Training checkpoints hold the whole network; older ones still resume."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from dstyle_tf import checkpoints
from dstyle_tf import training
from dstyle_tf.errors import UserError

from conftest import smoke_config
from test_multistyle_training import multistyle_config
from test_train_cli import checkpoint_steps


def tiny_config(**overrides):
    """A tiny smoke run: 2 steps, a checkpoint every 2."""
    return smoke_config(**{
        **dict(data__image_size=32, model__filters=4, model__num_residual_blocks=1,
               loss__depth_weight=0.0, train__steps=2, train__log_every=2,
               train__checkpoint_every=2, train__sample_every=100),
        **overrides,
    })


def restored_trainer(config, workdir):
    """A new trainer restored from the workdir, as a rerun of `train` builds it."""
    keras.utils.set_random_seed(config.seed + 1)  # other initial weights than the run's
    strategy = tf.distribute.get_strategy()
    trainer, _ = training.compiled_trainer(config, "float32", strategy, workdir, chief=True)
    return trainer


def weights_by_path(net):
    return {path: v.numpy() for path, v in checkpoints.network_variables(net).items()}


def assert_same_weights(net, expected):
    got, want = weights_by_path(net), weights_by_path(expected)
    assert got.keys() == want.keys()
    for path in want:
        np.testing.assert_array_equal(got[path], want[path], err_msg=path)


def saved_network(workdir):
    return keras.saving.load_model(os.path.join(workdir, training.MODEL_FILE))


@pytest.fixture(scope="module")
def batch_norm_run(tmp_path_factory):
    """(config, workdir) of a finished 2-step batch-norm run."""
    workdir = str(tmp_path_factory.mktemp("batch_norm") / "run")
    config = tiny_config(model__normalization="batch")
    training.train(config, workdir)
    return config, workdir


def test_checkpoint_holds_every_network_variable(batch_norm_run):
    _, workdir = batch_norm_run
    names = {name for name, _ in tf.train.list_variables(checkpoints.checkpoint_path(workdir))}
    for path in weights_by_path(saved_network(workdir)):
        assert f"transform_net/{path.replace('/', '.S')}/.ATTRIBUTES/VARIABLE_VALUE" in names


def test_batch_norm_statistics_survive_resume(batch_norm_run):
    config, workdir = batch_norm_run
    trained = saved_network(workdir)
    moving_means = [v for v in trained.weights if v.path.endswith("moving_mean")]
    assert moving_means and any(np.any(v.numpy() != 0) for v in moving_means)
    trainer = restored_trainer(config, workdir)
    assert int(trainer.optimizer.iterations.numpy()) == 2
    assert_same_weights(trainer.transform_net, trained)


def test_network_from_checkpoint_needs_no_optimizer(batch_norm_run):
    _, workdir = batch_norm_run
    net = checkpoints.network_from_checkpoint(workdir, step=2)
    assert net.dtype_policy.name == "float32"
    assert_same_weights(net, saved_network(workdir))
    with pytest.raises(UserError, match="No checkpoint of step 7 .* kept steps: 2"):
        checkpoints.network_from_checkpoint(workdir, step=7)


def test_no_checkpoints_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="No checkpoints in"):
        checkpoints.network_from_checkpoint(str(tmp_path))


def legacy_checkpoint(net, optimizer=None):
    """What training wrote before checkpoints held the network's variables."""
    return tf.train.Checkpoint(transform_net=net, optimizer=optimizer)


def test_old_format_checkpoints_resume_from_the_newest(tmp_path, monkeypatch):
    workdir = str(tmp_path / "run")
    config = tiny_config(train__steps=4)
    with monkeypatch.context() as patch:
        patch.setattr(checkpoints, "training_checkpoint", legacy_checkpoint)
        training.train(config, workdir)
    assert checkpoint_steps(workdir) == [2, 4]
    old = checkpoints.checkpoint_path(workdir)
    assert not checkpoints.holds_network(old)
    assert not [n for n, _ in tf.train.list_variables(old) if n.startswith("transform_net/")]
    with pytest.raises(UserError, match="older version"):
        checkpoints.network_from_checkpoint(workdir)

    # Not skipped as mismatching (that would fall back to step 2, or to none).
    trainer = restored_trainer(config, workdir)
    assert int(trainer.optimizer.iterations.numpy()) == 4
    assert_same_weights(trainer.transform_net, saved_network(workdir))

    config.train.steps = 6
    assert training.train(config, workdir).step == 6
    assert checkpoint_steps(workdir) == [2, 4, 6]
    assert checkpoints.holds_network(checkpoints.checkpoint_path(workdir))


def test_train_only_new_styles_checkpoints_and_resumes(tmp_path):
    base_dir, added_dir = str(tmp_path / "base"), str(tmp_path / "added")
    base_config = multistyle_config("wave")
    base_config.train.steps = 2
    training.train(base_config, base_dir)
    config = multistyle_config("the_scream", train__train_only_new_styles=True)
    config.init_from, config.train.steps = base_dir, 2
    training.train(config, added_dir)
    added = saved_network(added_dir)
    # The frozen layers are in the checkpoint too, not only the trained γ, β.
    assert_same_weights(checkpoints.network_from_checkpoint(added_dir), added)

    trainer = restored_trainer(config, added_dir)
    assert_same_weights(trainer.transform_net, added)
    config.train.steps = 4
    assert training.train(config, added_dir).step == 4
