"""Stills of a short clip side by side: the input, each model, and how much each changes.

One picture with a column per frame (`frames` consecutive frames from
`start`) and these rows: the input, each model's stylisation, then the input's
and each model's change from the previous frame, |out_t − out_{t−1}| per pixel
(mean over the channels, × `gain`, viridis: dark = unchanged); for a filmed
photo the previous frame is first moved by the known camera motion, so what
remains is flicker (the warping error's pixels). A steady stylisation changes
as little as the input; a flickering one changes everywhere.

The clip is a video file or a photo filmed by `metrics.synthetic_clip` (the
flicker metric's virtual camera: sub-pixel pans, a slow zoom, sensor noise).
`python -m dstyle_tf.stills` is the command-line front end.

Example:
```python
from dstyle_tf.evaluation.stills import StillsConfig, make_stills
make_stills(StillsConfig(input="skimage:astronaut", output="stills.jpg",
                         models=["plain=runs/demo", "stable=runs/stable"]))
```
"""

import dataclasses
import os

import numpy as np
from PIL import Image
from PIL import ImageDraw

from dstyle_tf import image_io
from dstyle_tf import video
from dstyle_tf.errors import UserError
from dstyle_tf.drawing import TEXT
from dstyle_tf.drawing import WHITE
from dstyle_tf.evaluation.sheets import colormap
from dstyle_tf.drawing import fit_cell
from dstyle_tf.drawing import font
from dstyle_tf.metrics.temporal import synthetic_clip
from dstyle_tf.metrics.temporal import valid_mask
from dstyle_tf.metrics.temporal import warp

SKIMAGE_PREFIX = "skimage:"


@dataclasses.dataclass
class StillsConfig:
    """What `python -m dstyle_tf.stills` does; fields are its flags.

    Attributes:
        input: a video file, an image file or `skimage:NAME` (a photo filmed
            into a synthetic clip).
        output: the picture (.jpg or .png).
        models: "label=path" of each model (a row each, in this order).
        frames: stills shown (consecutive frames).
        start: index of the first frame shown.
        max_size: longer side of the frames (the photo is downscaled before
            filming); 0 keeps the original.
        cell_width: width of one still on the picture.
        gain: factor of the frame-to-frame change rows.
        seed: seed of the synthetic clip's motion and noise.
        jpeg_quality: for a .jpg output.
    """

    input: str
    output: str
    models: list = dataclasses.field(default_factory=list)
    frames: int = 4
    start: int = 0
    max_size: int = 256
    cell_width: int = 192
    gain: float = 4.0
    seed: int = 0
    jpeg_quality: int = 85


def read_clip(source, count, start=0, max_size=None, seed=0):
    """`count` consecutive frames of a video or a filmed photo.

    Returns:
        (frames (count, H, W, 3) float32, motions): for a filmed photo the
        count − 1 known motions between the frames (`synthetic_clip`), for a
        video None.
    """
    if video.is_video(source):
        return video.read_frames(source, count, start, max_size), None
    if source.startswith(SKIMAGE_PREFIX):
        from dstyle_tf.data import skimage_photo

        photo = skimage_photo(source[len(SKIMAGE_PREFIX):])
        size = image_io.scaled_size(photo.shape[1], photo.shape[0], max_size)
        photo = image_io.resize(Image.fromarray(photo), *size)
    else:
        try:
            photo = image_io.load_image(source, max_size=max_size)
        except image_io.ImageReadError as e:
            raise UserError(f"--input {e}") from None
    frames, motions = synthetic_clip(np.asarray(photo, np.float32), start + count, seed=seed)
    return frames[start:], motions[start:]


def frame_changes(frames, motions=None):
    """Per-pixel change of each frame from the previous one, (T − 1, H, W).

    |frame_t − frame_{t−1}|, the mean over the channels; with the clip's
    known `motions`, the previous frame is first warped onto the frame (so
    only what the camera's motion does not explain remains: flicker, as in
    the warping error), and pixels the motion brings from outside are 0.
    """
    frames = np.asarray(frames, np.float32)
    if motions is None:
        return np.abs(np.diff(frames, axis=0)).mean(axis=-1)
    changes = []
    for previous, frame, motion in zip(frames, frames[1:], motions):
        change = np.abs(warp(previous, motion) - frame).mean(axis=-1)
        changes.append(np.where(valid_mask(frame.shape, motion), change, 0.0))
    return np.stack(changes).astype(np.float32)


def stills_rows(frames, outputs, gain=4.0, motions=None):
    """The rows of the picture: (label, images) for frames 1 … T − 1.

    Args:
        frames: (T, H, W, 3) input frames (the first only serves as the
            previous frame of the second).
        outputs: {label: (T, H, W, 3) stylised frames}, in row order.
        gain: factor of the change rows (255 / gain changes saturate).
        motions: the clip's known motions, if any (see `frame_changes`).
    """
    clips = {"input": np.asarray(frames, np.float32), **outputs}
    rows = [(label, list(clip[1:])) for label, clip in clips.items()]
    for label, clip in clips.items():
        change = colormap(frame_changes(clip, motions) * gain / 255.0)
        rows.append((f"change: {label}", list(change)))
    return rows


@dataclasses.dataclass(frozen=True)
class StillsLayout:
    """Pixel geometry of the picture (all sizes in pixels)."""

    num_rows: int
    num_columns: int
    cell_size: tuple  # (width, height)
    label_width: int = 112
    header_height: int = 22
    footer_height: int = 20
    gap: int = 4

    def cell_origin(self, row, column):
        return (
            self.label_width + column * (self.cell_size[0] + self.gap),
            self.header_height + row * (self.cell_size[1] + self.gap),
        )

    @property
    def size(self):
        right, bottom = self.cell_origin(self.num_rows, self.num_columns)
        return right - self.gap, bottom - self.gap + self.footer_height


def render_stills(rows, column_titles, cell_width=192, footer=""):
    """Composes `stills_rows` into one labelled PIL RGB picture (`StillsLayout`)."""
    height, width = np.shape(rows[0][1][0])[:2]
    cell = (cell_width, max(1, round(cell_width * height / width)))
    layout = StillsLayout(len(rows), len(column_titles), cell)
    picture = Image.new("RGB", layout.size, WHITE)
    draw = ImageDraw.Draw(picture)
    small = font(13)
    for column, title in enumerate(column_titles):
        x, _ = layout.cell_origin(0, column)
        draw.text((x + 2, 4), title, fill=TEXT, font=small)
    for row, (label, images) in enumerate(rows):
        _, y = layout.cell_origin(row, 0)
        draw.text((4, y + cell[1] // 2 - 7), label, fill=TEXT, font=small)
        for column, image in enumerate(images):
            picture.paste(fit_cell(image, cell), layout.cell_origin(row, column))
    if footer:
        draw.text((4, layout.size[1] - layout.footer_height + 3), footer, fill=TEXT, font=small)
    return picture


def make_stills(config, log=print):
    """Stylises the clip's frames with every model and writes the picture.

    Returns:
        the PIL picture written to `config.output`.

    Raises:
        UserError: for a bad input, model or output, or no model.
    """
    from dstyle_tf.evaluation.runner import model_method
    from dstyle_tf.evaluation.runner import parse_model_spec

    if not config.models:
        raise UserError("Give at least one --model=label=path.")
    if config.frames < 1 or config.start < 0:
        raise UserError(f"--frames must be >= 1 and --start >= 0; got {config.frames}, {config.start}.")
    extension = os.path.splitext(config.output)[1].lower()
    if extension not in image_io.SAVE_FORMATS:
        raise UserError(
            f"--output {config.output}: cannot write '{extension}'; use one of "
            f"{', '.join(sorted(image_io.SAVE_FORMATS))}."
        )
    methods = [model_method(*parse_model_spec(spec), frames=True) for spec in config.models]
    # One more frame than shown: the first shown frame's change needs its predecessor.
    frames, motions = read_clip(
        config.input, config.frames + 1, config.start, config.max_size or None, config.seed
    )
    outputs = {}
    for method in methods:
        log(f"stills: stylising {len(frames)} frames with {method.label}")
        outputs[method.label] = np.stack([method.stylize(frame) for frame in frames])
    titles = [f"frame {config.start + index + 1}" for index in range(config.frames)]
    previous = "frame t-1" if motions is None else "frame t-1 moved by the known camera motion"
    footer = (f"change: |frame t - {previous}| per pixel, x{config.gain:g} "
              "(dark = unchanged, yellow = 255/gain or more)")
    picture = render_stills(stills_rows(frames, outputs, config.gain, motions), titles,
                            config.cell_width, footer)
    os.makedirs(os.path.dirname(os.path.abspath(config.output)), exist_ok=True)
    image_io.save_image(config.output, np.asarray(picture), jpeg_quality=config.jpeg_quality)
    return picture
