"""Video stylisation (dstyle_tf.video, PyAV): round trips on tiny generated clips."""

import os
import re

import numpy as np
import pytest

from conftest import run_commands
from dstyle_tf import image_io
from dstyle_tf import stylize
from dstyle_tf import video
from dstyle_tf.errors import UserError
from dstyle_tf.stylization import StylizeConfig
from dstyle_tf.stylization import stylize_paths

av = pytest.importorskip("av")
TF_LOG = re.compile(r"[IWEF]\d{4} |WARNING: All log messages|To enable the following")
FRAMES, WIDTH, HEIGHT, FPS, SAMPLE_RATE = 8, 32, 24, 10, 8000


def _frame(index):
    """A colour that changes per frame and a bar that moves 3 px per frame."""
    image = np.full((HEIGHT, WIDTH, 3), 60, np.uint8)
    image[..., 0] = 20 + 25 * index
    image[:, 3 * index : 3 * index + 4, 1] = 230
    return image


def write_clip(path, audio=True, rotation=0):
    """8 frames of 32×24 at 10 fps (H.264) and 0.8 s of a 440 Hz sine (AAC)."""
    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)  # As a phone held upright records.
        stream.options = {"crf": "0"}  # lossless: the test frames are exact
        if audio:
            sound = output.add_stream("aac", rate=SAMPLE_RATE)
            sound.layout = "mono"
        for index in range(FRAMES):
            output.mux(stream.encode(av.VideoFrame.from_ndarray(_frame(index), format="rgb24")))
        output.mux(stream.encode(None))
        if audio:
            count = SAMPLE_RATE * FRAMES // FPS
            wave = 0.3 * np.sin(2 * np.pi * 440 * np.arange(count) / SAMPLE_RATE)
            for start in range(0, count, 1024):
                chunk = wave[None, start : start + 1024].astype(np.float32)
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                frame.sample_rate, frame.pts = SAMPLE_RATE, start
                output.mux(sound.encode(frame))
            output.mux(sound.encode(None))
    return str(path)


def probe(path):
    """(frames as uint8 arrays, fps, (width, height), audio duration in s or None)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = stream.average_rate
        size = (stream.codec_context.width, stream.codec_context.height)
        audio = container.streams.audio
        duration = None
        if audio:
            duration = float(audio[0].duration * audio[0].time_base) if audio[0].duration else float(container.duration / 1e6)
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    return frames, fps, size, duration


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("clip") / "clip.mp4")


def _invert(frame):
    return 255.0 - frame


@pytest.mark.parametrize("extension", [".mp4", ".mkv", ".webm", ".avi"])
def test_round_trip_keeps_frames_rate_size_and_audio(clip, tmp_path, extension):
    target = tmp_path / f"out{extension}"
    assert video.stylize_video(clip, target, _invert, progress=False) == FRAMES
    frames, fps, size, duration = probe(target)
    source_frames, _, _, source_duration = probe(clip)
    assert len(frames) == FRAMES and fps == FPS and size == (WIDTH, HEIGHT)
    # AVI re-encodes the AAC track as MP3, whose encoder pads ~0.3 s at 8 kHz.
    assert duration == pytest.approx(source_duration, abs=0.3 if extension == ".avi" else 0.15)
    for source, out in zip(source_frames, frames):  # Lossy codecs: close, not equal.
        assert np.abs(out.astype(float) - (255 - source.astype(float))).mean() < 8
    assert os.listdir(tmp_path) == [target.name]  # No temporary file left.


def test_cli_library_stylises_with_a_keras_model(clip, tmp_path, tiny_model_path):
    target = tmp_path / "styled.mp4"
    result = stylize_paths(StylizeConfig(model=tiny_model_path, input=clip, output=str(target)))
    assert result.failures == [] and result.pairs == [(clip, str(target))]
    frames, fps, size, duration = probe(target)
    assert len(frames) == FRAMES and fps == FPS and size == (WIDTH, HEIGHT) and duration
    source_frames = probe(clip)[0]
    stylizer = stylize.load_stylizer(tiny_model_path)
    expected = stylize.stylize_image(source_frames[3].astype(np.float32), stylizer)
    # H.264 (CRF 18) softens the random network's pixel-level texture a little.
    assert np.corrcoef(frames[3].ravel(), expected.ravel())[0, 1] > 0.9
    assert np.abs(frames[3] - source_frames[3].astype(float)).mean() > 20  # Really stylised.


def test_clip_without_audio_odd_downscaled_size_and_rotation(tmp_path):
    source = write_clip(tmp_path / "silent.mov", audio=False, rotation=90)
    target = tmp_path / "small.mp4"
    video.stylize_video(source, target, _invert, progress=False, max_size=25)
    frames, fps, size, duration = probe(target)
    assert size == (25, 19) and len(frames) == FRAMES and fps == FPS and duration is None
    with av.open(str(target)) as container:
        assert next(container.decode(video=0)).rotation == 90


def test_smoothing_blends_consecutive_outputs():
    smoother = video.TemporalSmoother(0.25)
    first, second = np.full((2, 3, 3), 100.0), np.full((2, 3, 3), 200.0)
    np.testing.assert_allclose(smoother(first), first)
    np.testing.assert_allclose(smoother(second), 0.75 * 200 + 0.25 * 100)
    np.testing.assert_allclose(smoother(np.zeros((4, 4, 3))), 0.0)  # New size: restart.
    np.testing.assert_allclose(video.TemporalSmoother(0)(second), second)
    with pytest.raises(UserError, match="smooth"):
        video.TemporalSmoother(1.0)


def test_smoothing_reduces_frame_to_frame_change(clip, tmp_path):
    def change(path):
        frames = np.asarray(probe(path)[0], float)
        return np.abs(np.diff(frames, axis=0)).mean()

    video.stylize_video(clip, tmp_path / "plain.mp4", _invert, progress=False)
    video.stylize_video(clip, tmp_path / "smooth.mp4", _invert, smooth=0.6, progress=False)
    assert change(tmp_path / "smooth.mp4") < 0.6 * change(tmp_path / "plain.mp4")


@pytest.mark.parametrize(
    "content, reason",
    [(None, "not a readable video"), (b"just some text\n", "not a readable video")],
    ids=["truncated", "text"],
)
def test_bad_files_are_one_line_user_errors(clip, tmp_path, content, reason):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(open(clip, "rb").read()[:1500] if content is None else content)
    with pytest.raises(UserError, match=reason) as error:
        video.stylize_video(bad, tmp_path / "out.mp4", _invert, progress=False)
    assert "\n" not in str(error.value)
    assert sorted(os.listdir(tmp_path)) == ["bad.mp4"]


def test_unsupported_output_extension(clip, tmp_path):
    with pytest.raises(UserError, match="cannot write '.gif'"):
        video.stylize_video(clip, tmp_path / "out.gif", _invert)
    with pytest.raises(ValueError, match="cannot write '.png'"):
        stylize.plan_outputs([clip], tmp_path / "out.png")


def test_folder_of_frames_to_folder_with_smoothing(tmp_path, tiny_model_path):
    frames_dir, plain_dir, smooth_dir = tmp_path / "frames", tmp_path / "plain", tmp_path / "smooth"
    frames_dir.mkdir()
    for index in range(3):
        image_io.save_image(frames_dir / f"frame_{index:03d}.png", _frame(index).astype(np.float32))
    plain = stylize_paths(StylizeConfig(model=tiny_model_path, input=str(frames_dir), output=str(plain_dir)))
    smooth = stylize_paths(
        StylizeConfig(model=tiny_model_path, input=str(frames_dir), output=str(smooth_dir), smooth=0.5)
    )
    assert plain.failures == smooth.failures == []
    names = sorted(os.listdir(plain_dir))
    assert names == sorted(os.listdir(smooth_dir)) == [f"frame_{i:03d}.png" for i in range(3)]
    load = lambda folder, i: image_io.load_image(folder / names[i])  # noqa: E731
    np.testing.assert_allclose(load(smooth_dir, 0), load(plain_dir, 0), atol=1)
    np.testing.assert_allclose(
        load(smooth_dir, 1), 0.5 * load(plain_dir, 1) + 0.5 * load(plain_dir, 0), atol=1.01
    )


@pytest.mark.slow
def test_cli_video_and_bad_video_files(clip, tmp_path, tiny_model_path):
    target = tmp_path / "out.webm"
    (tmp_path / "broken.mp4").write_bytes(open(clip, "rb").read()[:1500])
    (tmp_path / "notes.mkv").write_text("not a video\n")
    names = ("broken.mp4", "notes.mkv")
    done, *failures = run_commands(  # one process
        ["dstyle_tf.stylize", f"--model={tiny_model_path}", f"--input={clip}", f"--output={target}",
         "--smooth=0.2"],
        *(["dstyle_tf.stylize", f"--model={tiny_model_path}", f"--input={tmp_path / name}",
           f"--output={tmp_path / 'x.mp4'}"] for name in names),
    )
    assert done.returncode == 0, done.stderr
    assert "frame/s" in done.stderr and len(probe(target)[0]) == FRAMES
    for name, failed in zip(names, failures):
        # TensorFlow's own start-up lines may precede ours.
        lines = [line for line in failed.stderr.splitlines() if not TF_LOG.match(line)]
        assert failed.returncode == 2, failed.stderr
        assert lines == [f"error: {tmp_path / name}: not a readable video (Invalid data found when processing input)."]
        assert not (tmp_path / "x.mp4").exists()


@pytest.mark.parametrize("kind", ["saved_model", "tflite"])
def test_exported_models_stylise_video(clip, tmp_path, tiny_model_path, kind):
    """SavedModel and fixed-size .tflite (frames tiled into 32×32 inputs) work too."""
    from export import saved_model
    from export import tflite
    from export.exporter import load_keras_model

    model = load_keras_model(tiny_model_path)
    if kind == "saved_model":
        path = tmp_path / "saved_model"
        saved_model.save(model, str(path))
    else:
        frozen = tflite.frozen_saved_model(model, str(tmp_path / "frozen"), input_size=(16, 16))
        path = tmp_path / "model.tflite"
        path.write_bytes(tflite.convert(frozen, "float32"))
    target = tmp_path / "out.mkv"
    stylize_paths(StylizeConfig(model=str(path), input=clip, output=str(target)))
    frames, fps, size, duration = probe(target)
    assert len(frames) == FRAMES and fps == FPS and size == (WIDTH, HEIGHT) and duration
    expected = stylize.stylize_image(probe(clip)[0][5].astype(np.float32), stylize.load_stylizer(str(path)))
    assert np.corrcoef(frames[5].ravel(), expected.ravel())[0, 1] > 0.9


def test_folder_with_a_video_and_an_image(clip, tmp_path, tiny_model_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(open(clip, "rb").read())
    image_io.save_image(folder / "still.png", _frame(0).astype(np.float32))
    (folder / "broken.avi").write_text("not a video\n")
    result = stylize_paths(StylizeConfig(model=tiny_model_path, input=str(folder), output=str(tmp_path / "out")))
    assert [source for source, _ in result.failures] == [str(folder / "broken.avi")]
    assert "not a readable video" in result.failures[0][1]
    assert sorted(os.listdir(tmp_path / "out")) == ["clip.mp4", "still.png"]
    assert len(probe(tmp_path / "out" / "clip.mp4")[0]) == FRAMES


def test_audio_is_re_encoded_when_the_container_cannot_take_it(clip, tmp_path):
    video.stylize_video(clip, tmp_path / "mp3.avi", _invert, progress=False)
    video.stylize_video(tmp_path / "mp3.avi", tmp_path / "back.mp4", _invert, progress=False)
    with av.open(str(tmp_path / "mp3.avi")) as avi, av.open(str(tmp_path / "back.mp4")) as mp4:
        assert avi.streams.audio[0].codec_context.codec.canonical_name == "mp3"
        assert mp4.streams.audio[0].codec_context.name == "aac"
    frames, fps, size, duration = probe(tmp_path / "back.mp4")
    assert len(frames) == FRAMES and fps == FPS and duration == pytest.approx(0.8, abs=0.5)
    assert np.abs(frames[2] - probe(clip)[0][2].astype(float)).mean() < 6  # Inverted twice.


def test_writer_thread_keeps_order_and_reports_errors():
    done = []
    with video._Writer(depth=2) as writer:
        for index in range(10):
            writer.submit(lambda index=index: done.append(index))
    assert done == list(range(10))

    def fail():
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        with video._Writer(depth=2) as writer:
            writer.submit(fail)
            for index in range(10):
                writer.submit(lambda: done.append("after the error"))
    assert "after the error" not in done


def test_write_frames_round_trip(tmp_path):
    frames = np.stack([_frame(index) for index in range(5)]).astype(np.float32)

    assert video.write_frames(tmp_path / "clip.mp4", frames, fps=12) == 5

    decoded, fps, size, _ = probe(tmp_path / "clip.mp4")
    assert len(decoded) == 5 and fps == 12 and size == (frames.shape[2], frames.shape[1])
    with pytest.raises(UserError, match="cannot write '.gif'"):
        video.write_frames(tmp_path / "clip.gif", frames)
