"""Tests for the stills picture (dstyle_tf.evaluation.stills, python -m dstyle_tf.stills)."""

import numpy as np
import pytest
from PIL import Image

from dstyle_tf import image_io
from dstyle_tf import video
from dstyle_tf.errors import UserError
from dstyle_tf.evaluation import stills
from dstyle_tf.metrics.temporal import synthetic_clip

pytest.importorskip("av")


@pytest.fixture(scope="module")
def photo_path(tmp_path_factory):
    from dstyle_tf.data import synthetic_images

    path = tmp_path_factory.mktemp("stills") / "photo.png"
    image_io.save_image(path, synthetic_images(1, 40, seed=3)[0])
    return str(path)


def test_picture_has_a_row_per_model_and_change_and_a_column_per_frame(photo_path, tiny_model_path, tmp_path):
    output = tmp_path / "stills.png"
    config = stills.StillsConfig(
        input=photo_path, output=str(output), models=[f"a={tiny_model_path}", f"b={tiny_model_path}"],
        frames=3, cell_width=40,
    )

    stills.make_stills(config, log=lambda message: None)

    picture = np.asarray(Image.open(output))
    # input, a, b, then the change of each: 6 rows of 3 stills (frames are 32×32).
    layout = stills.StillsLayout(num_rows=6, num_columns=3, cell_size=(40, 40))
    assert picture.shape == (layout.size[1], layout.size[0], 3)
    for row in range(6):
        for column in range(3):
            x, y = layout.cell_origin(row, column)
            cell = picture[y : y + 40, x : x + 40].astype(float)
            assert cell.std() > 1.0, (row, column)  # a picture, not the background
    # The two rows of one model are the same model: equal stills.
    a, b = (layout.cell_origin(row, 0) for row in (1, 2))
    np.testing.assert_array_equal(picture[a[1] : a[1] + 40, a[0] : a[0] + 40],
                                  picture[b[1] : b[1] + 40, b[0] : b[0] + 40])


def test_known_motion_leaves_only_noise_in_the_change():
    rng = np.random.default_rng(0)
    photo = np.cumsum(np.cumsum(rng.normal(0, 4, (60, 60, 3)), 0), 1) % 255
    frames, motions = synthetic_clip(photo, 3, noise=0.0, seed=1)

    warped = stills.frame_changes(frames, motions)
    plain = stills.frame_changes(frames)

    assert warped.shape == plain.shape == (2, *frames.shape[1:3])
    np.testing.assert_allclose(plain[0], np.abs(frames[1] - frames[0]).mean(-1), rtol=1e-6)
    assert warped.mean() < 0.1 * plain.mean()


def test_video_input_and_bad_inputs(tmp_path, tiny_model_path):
    frames = np.random.default_rng(0).uniform(0, 255, (6, 24, 32, 3))
    clip = tmp_path / "clip.mp4"
    video.write_frames(clip, frames)

    read, motions = stills.read_clip(str(clip), 3, start=2)

    assert read.shape == (3, 24, 32, 3) and motions is None
    with pytest.raises(UserError, match="has 6 frames; 8 are needed"):
        stills.read_clip(str(clip), 4, start=4)
    with pytest.raises(UserError, match="at least one --model"):
        stills.make_stills(stills.StillsConfig(input=str(clip), output=str(tmp_path / "s.png")))
    with pytest.raises(UserError, match="cannot write '.gif'"):
        stills.make_stills(stills.StillsConfig(
            input=str(clip), output=str(tmp_path / "s.gif"), models=[tiny_model_path]
        ))


def test_cli_bad_input_is_one_line(tmp_path, tiny_model_path):
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "dstyle_tf.stills", f"--input={tmp_path / 'missing.jpg'}",
         f"--model={tiny_model_path}", f"--output={tmp_path / 'out.jpg'}"],
        capture_output=True, text=True, timeout=300,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )

    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: --input {tmp_path / 'missing.jpg'}")
    assert "Traceback" not in result.stderr
