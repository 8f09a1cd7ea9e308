"""Configs: the paper's values, the Johnson baseline, the smoke run."""

import pytest

from configs import johnson
from configs import paper
from configs import smoke
from dstyle_tf.training.config_validation import validate_config
from dstyle_tf.errors import UserError

from conftest import smoke_config


def test_paper_config_is_the_papers_setup():
    c = paper.get_config("style.jpg")
    assert c.style.image == "style.jpg" and c.style.name == "style"
    assert (c.data.source, c.data.tfds_name, c.data.split) == ("tfds", "coco/2017", "train")
    assert (c.data.image_size, c.data.resize, c.data.batch_size) == (256, "resize", 4)
    assert c.train.steps == 40_000 and c.optimizer.learning_rate == 1e-3
    assert (c.loss.content_weight, c.loss.style_weight, c.loss.depth_weight) == (1.0, 5.0, 5.0)
    assert 1e-6 <= c.loss.tv_weight <= 1e-4
    assert c.vgg.content_layer == "relu2_2"
    assert tuple(c.vgg.style_layers) == ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
    assert (c.model.filters, c.model.num_residual_blocks) == (32, 5)
    assert (c.model.normalization, c.model.upsampling) == ("batch", "transpose")
    assert c.vgg.weights == "imagenet" and c.depth.preset == "depth_anything_v2_small"


def test_johnson_differs_from_paper_only_in_depth_weight():
    a = paper.get_config("s.jpg").to_dict()
    b = johnson.get_config("s.jpg").to_dict()
    assert b["loss"].pop("depth_weight") == 0.0 and a["loss"].pop("depth_weight") == 5.0
    assert a == b


def test_smoke_config_is_offline_and_valid():
    c = smoke.get_config()
    assert c.vgg.weights == "random" and c.depth.preset == "random"
    assert c.data.source == "synthetic" and c.style.image == "synthetic"
    validate_config(c)


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"vgg__content_layer": "relu7_1"}, "Unknown VGG-16 layer"),
        ({"loss__style_weight": -1.0}, "loss.style_weight must be a number >= 0"),
        ({"style__image": "/nonexistent/style.jpg"}, "Style image not found"),
        ({"style__image": ""}, "No style image"),
        ({"data__image_size": 0}, "data.image_size must be a positive number"),
        ({"train__steps": 0}, "train.steps must be a positive integer"),
        ({"depth__backend": "midas"}, "depth.backend must be one of"),
        ({"data__source": "folder", "data__folder": "/nonexistent"}, "data.folder is not a folder"),
        ({"model__normalization": "group"}, "model.normalization must be one of"),
        ({"vgg__weights": "/nonexistent/vgg16.h5"}, "vgg.weights file not found"),
        ({"depth__preset": "/nonexistent/preset"}, "depth.preset directory not found"),
        ({"train__distribute": "tpu"}, "train.distribute must be one of"),
        ({"train__mixed_precision": "float8"}, "train.mixed_precision must be"),
        ({"data__resize": "stretch"}, "data.resize must be one of"),
    ],
)
def test_bad_configs_are_one_line_errors(overrides, message):
    with pytest.raises(UserError, match=message) as info:
        validate_config(smoke_config(**overrides))
    assert "\n" not in str(info.value)


def test_unreadable_style_image_is_a_one_line_error(tmp_path):
    bad = tmp_path / "style.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with pytest.raises(UserError, match="is not a readable image") as info:
        validate_config(smoke_config(style__image=str(bad)))
    assert "\n" not in str(info.value)


def test_style_image_is_read_upright_in_any_mode(tmp_path):
    import numpy as np
    from PIL import Image

    from dstyle_tf.training import load_style_image

    path = tmp_path / "style.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: a viewer rotates it 90°
    Image.new("CMYK", (40, 20), (0, 255, 0, 0)).save(path, exif=exif)
    config = smoke_config(style__image=str(path), style__size=20).style
    image = load_style_image(config)
    assert image.shape == (20, 10, 3) and image.dtype == np.float32
    # CMYK magenta becomes RGB (255, 0, 255).
    red, green, blue = image.reshape(-1, 3).mean(axis=0)
    assert red > 200 and green < 60 and blue > 200


def test_paper_and_johnson_have_no_edge_term():
    assert paper.get_config("s.jpg").loss.edge_weight == 0.0
    assert johnson.get_config("s.jpg").loss.edge_weight == 0.0


@pytest.mark.parametrize(
    "name", ["demo", "structure", "lite", "multistyle", "add_style", "paper", "johnson"]
)
def test_every_real_config_trains_with_the_imagenet_vgg16(name):
    """ImageNet VGG-16 is the perceptual loss network of every real config;
    HED stays the default edge network (`edge.weights`)."""
    import importlib

    config = importlib.import_module(f"configs.{name}").get_config("starry_night")
    assert config.vgg.weights == "imagenet"
    assert config.edge.weights == "hed"


def test_demo_and_structure_are_offline_and_differ_only_in_structure_terms():
    from configs import demo
    from configs import structure

    a, b = demo.get_config(), structure.get_config()
    assert a.vgg.weights == "imagenet" and a.data.source == "skimage"
    assert a.style.image == "starry_night"
    assert a.loss.edge_weight == 0.0 and a.loss.depth_weight == 0.0
    assert b.loss.edge_weight > 0 and b.edge.backend == "salience" and b.loss.depth_weight == 0
    # λs is raised to keep the style as strong as the demo's (docs/results.md).
    assert b.loss.style_weight > a.loss.style_weight
    a, b = a.to_dict(), b.to_dict()
    for section in ("loss", "depth", "edge"):
        a.pop(section), b.pop(section)
    assert a == b
    validate_config(structure.get_config())
    assert demo.get_config("wave").style.name == "wave"


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"loss__edge_weight": -1.0}, "loss.edge_weight must be a number >= 0"),
        ({"loss__edge_weight": 1.0, "edge__backend": "sobel"}, "edge.backend must be one of"),
        ({"loss__edge_weight": 1.0, "edge__weights": "/no/hed.weights.h5"}, "edge.weights file not found"),
        ({"train__gradient_share_every": -5}, "train.gradient_share_every must be"),
        ({"loss__stability_weight": 1.0, "stability__max_shift": -1}, "stability.max_shift must be"),
        ({"loss__stability_weight": 1.0, "stability__max_shift": 30}, "too large for data.image_size"),
        ({"vgg__weights": "/nonexistent/vgg16.h5"}, "use imagenet, hed, random"),
    ],
)
def test_bad_structure_configs_are_one_line_errors(overrides, message):
    with pytest.raises(UserError, match=message) as info:
        validate_config(smoke_config(**overrides))
    assert "\n" not in str(info.value)


def test_bundled_style_by_name():
    from dstyle_tf.styles import BUNDLED_STYLES
    from dstyle_tf.training import load_style_image

    for name in BUNDLED_STYLES:
        image = load_style_image(smoke_config(style__image=name, style__size=64).style)
        assert max(image.shape[:2]) == 64 and image.std() > 10
    validate_config(smoke_config(style__image="wave"))
