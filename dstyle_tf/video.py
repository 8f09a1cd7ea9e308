"""Stylising video files frame by frame, with PyAV (the `video` extra).

`stylize_video(source, target, stylize_fn)` decodes `source`, stylises each
frame and encodes `target`, streaming: one decoded and one stylised frame are
in memory at a time, whatever the clip's length. The output keeps the frame
rate (each frame's timestamp), the frame size, the display rotation (phone
clips) and the audio track (copied as is when the output container accepts
its codec, re-encoded otherwise); other tracks (subtitles, data) are dropped.
The video codec follows the output extension: H.264 for .mp4, .mov and
.mkv, VP9 for .webm, MPEG-4 Part 2 for .avi. The file appears only when
complete (`atomic.replacing`).

`--smooth=α` blends each stylised frame with the previous output,
`out_t = (1 − α)·s_t + α·out_{t−1}` (`TemporalSmoother`): it damps flicker
of networks trained without a stability term, at the price of motion
blur — anything that moves leaves a trail lasting about 1 / (1 − α) frames.

PyAV (https://pyav.basswood-io.com) is a maintained FFmpeg binding whose
wheels ship their own FFmpeg libraries (with x264 and libvpx), so no system
FFmpeg is needed.
"""

import fractions
import functools
import os
import queue
import sys
import threading

import numpy as np

from dstyle_tf import atomic
from dstyle_tf.errors import UserError

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi")
# Output extension → (video codec, audio codec when the input's must be re-encoded,
# audio codecs copied as they are). Copies are limited to pairings checked to mux
# (MP3 from AVI into MP4, for one, does not).
_CODECS = {
    ".mp4": ("libx264", "aac", {"aac"}),
    ".mov": ("libx264", "aac", {"aac"}),
    ".mkv": ("libx264", "aac", None),  # None: any codec
    ".webm": ("libvpx-vp9", "libopus", {"opus", "vorbis"}),
    ".avi": ("mpeg4", "mp3", {"mp3"}),
}
# Visually near-lossless quality at a speed that keeps up with the network on a
# CPU (VP9's defaults encode ~5x slower than x264's "medium").
_ENCODER_OPTIONS = {
    "libx264": {"crf": "18", "preset": "medium"},
    "libvpx-vp9": {"crf": "30", "b:v": "0", "cpu-used": "4", "row-mt": "1"},
}
INSTALL_HINT = 'pip install "dstyle_tf[video]"'


def is_video(path):
    """Whether `path` names a video file by its extension."""
    return os.path.splitext(os.fspath(path))[1].lower() in VIDEO_EXTENSIONS


def _av():
    try:
        import av
    except ImportError:
        raise UserError(f"Video needs PyAV, which is not installed: {INSTALL_HINT}") from None
    return av


class TemporalSmoother:
    """Exponential blending of consecutive outputs: `out_t = (1 − α)·s_t + α·out_{t−1}`.

    Args:
        alpha: weight of the previous output, in [0, 1); 0 passes frames
            through. A frame of another size restarts the blending.
    """

    def __init__(self, alpha):
        if not 0 <= alpha < 1:
            raise UserError(f"--smooth must be in [0, 1), got {alpha}.")
        self.alpha = alpha
        self.previous = None

    def __call__(self, frame):
        frame = np.asarray(frame, np.float32)
        if self.alpha and self.previous is not None and self.previous.shape == frame.shape:
            frame = (1 - self.alpha) * frame + self.alpha * self.previous
        self.previous = frame
        return frame


def _reason(error):
    """FFmpeg's own words, without the errno and the path."""
    return getattr(error, "strerror", None) or str(error)


def _open_input(av, path):
    try:
        container = av.open(os.fspath(path), mode="r")
    except (av.FFmpegError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not a readable video ({_reason(e)}).") from None
    if not container.streams.video:
        container.close()
        raise UserError(f"{path}: has no video stream.")
    return container


def _output_extension(path, flag=""):
    """The video extension of `path`; a `UserError` for one that cannot be written."""
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension not in _CODECS:
        raise UserError(
            f"{flag}{path}: cannot write '{extension}' video; use one of {', '.join(VIDEO_EXTENSIONS)}."
        )
    return extension


def _to_pixels(image):
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _pixel_format(codec, size):
    # 4:2:0 chroma needs even sides; odd sizes keep every pixel with 4:4:4.
    even = size[0] % 2 == 0 and size[1] % 2 == 0
    return "yuv420p" if even or codec == "mpeg4" else "yuv444p"


def _video_stream(output, input_stream, extension, size):
    codec, _, _ = _CODECS[extension]
    rate = input_stream.average_rate or input_stream.guessed_rate or fractions.Fraction(25)
    stream = output.add_stream(codec, rate=rate)
    stream.width, stream.height = size
    stream.pix_fmt = _pixel_format(codec, size)
    # Timestamps keep the input's clock (variable frame rates survive), except
    # in AVI, whose index assumes one tick per frame.
    time_base = 1 / fractions.Fraction(rate) if extension == ".avi" else input_stream.time_base
    stream.time_base = stream.codec_context.time_base = time_base
    stream.options = _ENCODER_OPTIONS.get(codec, {})
    return stream


def _audio_stream(output, input_stream, extension):
    """(output stream, copy?) for the input's audio track."""
    _, fallback, accepted = _CODECS[extension]
    codec = input_stream.codec_context.codec
    if accepted is None or getattr(codec, "canonical_name", codec.name) in accepted:
        return output.add_stream_from_template(input_stream), True
    stream = output.add_stream(fallback, rate=input_stream.codec_context.sample_rate or 48000)
    return stream, False


def _progress_bar(total, path):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(
        total=total or None, unit="frame", desc=os.path.basename(path), file=sys.stderr, dynamic_ncols=True
    )


def stylize_video(source, target, stylize_fn, smooth=0.0, progress=True, max_size=None):
    """Stylises every frame of the video `source` into the video `target`.

    Args:
        source: input video (any container and codec FFmpeg reads).
        target: output path ending in .mp4, .mov, .mkv, .webm or .avi;
            written atomically (a hidden temporary sibling, then a rename).
        stylize_fn: RGB (H, W, 3) float32 in [0, 255] → stylised image of
            the same size (e.g. `lambda f: stylize_image(f, stylizer)`).
        smooth: α of `TemporalSmoother` (0: off).
        progress: show a progress bar in frames/s (tqdm).
        max_size: optional longest side to downscale frames to.

    Returns:
        the number of frames written.

    Raises:
        UserError: if `source` is not a readable video, has no video stream,
            or `target` has an unsupported extension.
    """
    av = _av()
    extension = _output_extension(target, "--output ")
    smoother = TemporalSmoother(smooth)
    container = _open_input(av, source)
    bar = None
    try:
        in_video = container.streams.video[0]
        in_audio = container.streams.audio[0] if container.streams.audio else None
        size = _output_size(in_video.codec_context.width, in_video.codec_context.height, max_size)
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        bar = _progress_bar(in_video.frames, source) if progress else None
        with atomic.replacing(target, suffix=extension) as temporary:
            with av.open(temporary, mode="w") as output:
                out_video = _video_stream(output, in_video, extension, size)
                out_audio, copy_audio = (
                    _audio_stream(output, in_audio, extension) if in_audio else (None, False)
                )
                count = _transcode(
                    av, container, in_video, in_audio, output, out_video, out_audio, copy_audio,
                    lambda frame: smoother(stylize_fn(frame)), size, bar,
                )
            if not count:  # Raised inside: no empty file replaces the target.
                raise UserError(f"{source}: contains no video frames.")
    except av.FFmpegError as e:
        raise UserError(f"{source}: video could not be decoded or encoded ({_reason(e)}).") from None
    finally:
        if bar is not None:
            bar.close()
        container.close()
    return count


def write_frames(path, frames, fps=24):
    """Encodes RGB frames (T, H, W, 3) in [0, 255] as a silent video (test clips).

    The codec follows the extension as in `stylize_video`; the file appears
    only when complete.

    Returns:
        the number of frames written.
    """
    av = _av()
    extension = _output_extension(path)
    codec = _CODECS[extension][0]
    count = 0
    with atomic.replacing(path, suffix=extension) as temporary:
        with av.open(temporary, mode="w") as output:
            stream = output.add_stream(codec, rate=fractions.Fraction(fps))
            for frame in frames:
                if not count:
                    stream.height, stream.width = np.shape(frame)[:2]
                    stream.pix_fmt = _pixel_format(codec, (stream.width, stream.height))
                    stream.options = _ENCODER_OPTIONS.get(codec, {})
                output.mux(stream.encode(av.VideoFrame.from_ndarray(_to_pixels(frame), format="rgb24")))
                count += 1
            output.mux(stream.encode(None))
    return count


def read_frames(path, count, start=0, max_size=None):
    """Frames `start` … `start + count − 1` of a video, float32 RGB (H, W, 3).

    Decodes from the beginning up to the last frame wanted, keeping only
    those (a short excerpt of a long clip needs little memory).

    Raises:
        UserError: if `path` is not a readable video or has fewer frames.
    """
    av = _av()
    container = _open_input(av, path)
    frames = []
    try:
        stream = container.streams.video[0]
        size = _output_size(stream.codec_context.width, stream.codec_context.height, max_size)
        for index, frame in enumerate(container.decode(stream)):
            if index >= start:
                frames.append(frame.to_ndarray(format="rgb24", width=size[0], height=size[1]))
            if len(frames) == count:
                break
    except av.FFmpegError as e:
        raise UserError(f"{path}: video could not be decoded ({_reason(e)}).") from None
    finally:
        container.close()
    if len(frames) < count:
        raise UserError(f"{path}: has {start + len(frames)} frames; {start + count} are needed.")
    return np.stack(frames).astype(np.float32)


def _output_size(width, height, max_size):
    if not max_size or max(width, height) <= max_size:
        return width, height
    scale = max_size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


class _Writer:
    """Runs output work (encoding, muxing) in one background thread, in order.

    Encoding releases the GIL, so it overlaps the network of the next frame;
    at most `depth` tasks wait (constant memory). A task's error is raised
    by the next `submit` or by leaving the `with` block.
    """

    def __init__(self, depth=4):
        self._tasks = queue.Queue(depth)
        self._error = None
        self._thread = threading.Thread(target=self._work, name="video-writer", daemon=True)
        self._thread.start()

    def _work(self):
        while (task := self._tasks.get()) is not None:
            if self._error is None:  # After an error, only drain (no deadlock).
                try:
                    task()
                except BaseException as e:  # Handed to the main thread.
                    self._error = e

    def _check(self):
        if self._error is not None:
            raise self._error

    def submit(self, task):
        self._check()
        self._tasks.put(task)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._tasks.put(None)
        self._thread.join()
        if exc_info[0] is None:
            self._check()


def _transcode(av, container, in_video, in_audio, output, out_video, out_audio, copy_audio, fn, size, bar):
    """Demuxes both tracks in file order, so memory stays constant; encodes
    and muxes in a `_Writer` thread."""

    def mux(stream, item):
        output.mux(stream.encode(item))

    count = 0
    streams = [in_video] + ([in_audio] if in_audio is not None else [])
    with _Writer() as writer:
        for packet in container.demux(*streams):
            if packet.stream is in_audio:
                if copy_audio:
                    if packet.dts is None:  # The demuxer's final flush packet.
                        continue
                    packet.stream = out_audio
                    writer.submit(functools.partial(output.mux, packet))
                else:
                    for frame in packet.decode():
                        frame.pts = None
                        writer.submit(functools.partial(mux, out_audio, frame))
                continue
            for frame in packet.decode():
                if count == 0 and frame.rotation:
                    # Phone clips store frames sideways with a display rotation: keep it.
                    out_video.set_display_rotation(frame.rotation)
                image = frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
                stylized = fn(image.astype(np.float32))
                out_frame = av.VideoFrame.from_ndarray(_to_pixels(stylized), format="rgb24")
                if frame.pts is not None:
                    out_frame.pts = round(frame.pts * frame.time_base / out_video.codec_context.time_base)
                out_frame.time_base = out_video.codec_context.time_base
                writer.submit(functools.partial(mux, out_video, out_frame))
                count += 1
                if bar is not None:
                    bar.update(1)
        writer.submit(functools.partial(mux, out_video, None))
        if out_audio is not None and not copy_audio:
            writer.submit(functools.partial(mux, out_audio, None))
    return count
