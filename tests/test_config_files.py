"""Config files loaded by path and changed by key=value overrides."""

import pytest

from dstyle_tf import config_files
from dstyle_tf.errors import UserError


def test_a_config_file_loads_by_path_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # configs/structure.py is found beside the package
    config = config_files.load_config("configs/structure.py", "wave")
    assert config.style.image == "wave" and config.loss.edge_weight > 0
    with pytest.raises(UserError, match="no such file"):
        config_files.load_config("configs/missing.py")


def test_overrides_parse_by_the_fields_type():
    config = config_files.load_config("configs/demo.py")
    config_files.apply_overrides(config, [
        "loss.edge_weight=3e6", "loss.style_weight=2", "train.steps=7", "train.jit_compile=true",
        "edge.backend=laplacian", "vgg.style_layers=('relu1_2', 'relu2_2')", "data.folder=a=b",
    ])
    assert config.loss.edge_weight == 3e6 and isinstance(config.loss.edge_weight, float)
    assert config.loss.style_weight == 2.0 and isinstance(config.loss.style_weight, float)
    assert config.train.steps == 7 and config.train.jit_compile is True
    assert config.edge.backend == "laplacian"
    assert tuple(config.vgg.style_layers) == ("relu1_2", "relu2_2")
    assert config.data.folder == "a=b"  # only the first = splits


@pytest.mark.parametrize("override, message", [
    ("loss.nope=1", "no field 'loss.nope'"),
    ("nope.style_weight=1", "no field"),
    ("loss=1", "is a section"),
    ("loss.style_weight", "expected key=value"),
    ("=3", "expected key=value"),
    ("loss.style_weight=abc", "'abc' is not a float"),
    ("train.steps=1.5", "'1.5' is not a int"),
    ("train.jit_compile=maybe", "is not a bool"),
])
def test_bad_overrides_are_one_line_user_errors(override, message):
    config = config_files.load_config("configs/demo.py")
    with pytest.raises(UserError, match=message) as error:
        config_files.apply_overrides(config, [override], "--structure_override")
    assert str(error.value).startswith(f"--structure_override {override!r}:")
    assert "\n" not in str(error.value)


def test_config_differences_name_the_dotted_fields():
    a = config_files.load_config("configs/demo.py")
    b = config_files.apply_overrides(config_files.load_config("configs/demo.py"), ["loss.style_weight=3"])
    assert config_files.config_differences(a, b) == {"loss.style_weight": (1.5, 3.0)}
    assert config_files.config_differences(a, a) == {}
