"""Johnson et al. against the structure-aware network, trained and judged offline.

One call reproduces docs/results.md: train `configs/demo.py` (Johnson's
objective) and `configs/structure.py` (plus the edge and depth terms) with
the same photos, seed and steps, stylise photos neither saw (scikit-image's
held-out samples, plus any folder given), measure both with
`run_evaluation` (Canny and HED edge F1 / spurious share, SSIM, saliency,
Gram distance to the style, …) and draw a gallery: photo | Johnson |
structure-aware.

    python -m dstyle_tf.compare --workdir=runs/compare
"""

import dataclasses
import os

import numpy as np
from PIL import Image
from PIL import ImageDraw

from dstyle_tf import image_io
from dstyle_tf.data import SKIMAGE_HELD_OUT_PHOTOS
from dstyle_tf.data import skimage_photo
from dstyle_tf.evaluation.runner import EvaluationConfig
from dstyle_tf.evaluation.runner import run_evaluation
from dstyle_tf.drawing import fit_cell
from dstyle_tf.drawing import font
from dstyle_tf.drawing import text_size

LABELS = ("johnson", "structure")


class TrainingInterrupted(RuntimeError):
    """A signal stopped one of the trainings (a checkpoint was saved)."""

    def __init__(self, label, signal_name):
        super().__init__(f"training {label} was stopped by {signal_name}; run the same command to resume.")
        self.signal_name = signal_name
TITLES = {"photo": "photo", "johnson": "Johnson et al.", "structure": "structure-aware"}


@dataclasses.dataclass
class ComparisonConfig:
    """What `python -m dstyle_tf.compare` does; fields are its flags.

    Attributes:
        workdir: holds johnson/ and structure/ (training work directories,
            resumed if present), photos/, evaluation/ and gallery.png.
        style: bundled style name or style image path (both runs).
        steps: training steps of both runs; 0 keeps the configs' (1000).
        extra_content: optional folder of more held-out photos to measure
            (they are measured, not drawn in the gallery).
        max_size: longer side of the photos when stylised and measured.
        gallery_width: width of one gallery cell in pixels.
    """

    workdir: str
    style: str = "starry_night"
    steps: int = 0
    extra_content: str = ""
    max_size: int = 256
    gallery_width: int = 256


def training_configs(config):
    """The two training configs: identical but for the structure terms."""
    from configs import demo
    from configs import structure

    configs = {"johnson": demo.get_config(config.style), "structure": structure.get_config(config.style)}
    if config.steps:
        for c in configs.values():
            c.train.steps = config.steps
    return configs


def write_held_out_photos(folder, extra_content=""):
    """scikit-image's held-out photos (and an extra folder's) into `folder`.

    Returns:
        the names of the photos drawn in the gallery (the scikit-image ones).
    """
    os.makedirs(folder, exist_ok=True)
    names = []
    for name in SKIMAGE_HELD_OUT_PHOTOS:
        path = os.path.join(folder, f"{name}.png")
        if not os.path.exists(path):
            image_io.save_image(path, skimage_photo(name).astype(np.float32))
        names.append(f"{name}.png")
    if extra_content:
        for entry in sorted(os.listdir(extra_content)):
            source = os.path.join(extra_content, entry)
            target = os.path.join(folder, "extra", os.path.splitext(entry)[0] + ".png")
            if os.path.isfile(source) and not os.path.exists(target):
                os.makedirs(os.path.dirname(target), exist_ok=True)
                image_io.save_image(target, image_io.load_image(source))
    return names


def gallery(rows, width=256):
    """One picture: a row per photo, columns photo | Johnson | structure-aware.

    Args:
        rows: list of (photo, {label: stylized}) float RGB arrays.
    """
    heights = [round(width * p.shape[0] / p.shape[1]) for p, _ in rows]
    header, gap = 24, 4
    columns = ("photo", *LABELS)
    canvas = Image.new(
        "RGB", (len(columns) * (width + gap) - gap, header + sum(heights) + gap * len(rows)), "white"
    )
    draw = ImageDraw.Draw(canvas)
    text_font = font(15)
    for c, column in enumerate(columns):
        w, _ = text_size(draw, TITLES[column], text_font)
        draw.text((c * (width + gap) + (width - w) // 2, 4), TITLES[column], fill=(20, 20, 20), font=text_font)
    top = header
    for (photo, outputs), height in zip(rows, heights):
        for c, image in enumerate([photo, *(outputs[label] for label in LABELS)]):
            canvas.paste(fit_cell(image, (width, height)), (c * (width + gap), top))
        top += height + gap
    return canvas


def run_comparison(config, log=print):
    """Trains (or resumes) both networks, evaluates them, draws the gallery.

    Returns:
        the evaluation report (see `run_evaluation`).
    """
    from dstyle_tf.training import train

    runs = {}
    configs = training_configs(config)
    for label, training_config in configs.items():
        runs[label] = os.path.join(config.workdir, label)
        log(f"training {label} ({training_config.train.steps} steps) in {runs[label]}")
        result = train(training_config, runs[label])
        if result.interrupted:
            raise TrainingInterrupted(label, result.interrupted)
    photos = os.path.join(config.workdir, "photos")
    drawn = write_held_out_photos(photos, config.extra_content)
    style = configs["johnson"].style.image
    output = os.path.join(config.workdir, "evaluation")
    evaluation = EvaluationConfig(
        models=[f"{label}={path}" for label, path in runs.items()],
        content=photos,
        style=style,
        output=output,
        max_size=config.max_size,
        # Judged with the loss network both were trained with (ImageNet's).
        vgg_weights=configs["johnson"].vgg.weights,
        depth_preset="random",
        depth_input_size=126,
        edge_judge="hed",
    )
    log(f"evaluating on {photos}")
    report = run_evaluation(evaluation)
    rows = []
    for name in drawn:
        stem = os.path.splitext(name)[0]
        photo = image_io.load_image(os.path.join(photos, name), max_size=config.max_size)
        outputs = {
            label: image_io.load_image(os.path.join(output, "images", label, f"{stem}.png"))
            for label in LABELS
        }
        rows.append((photo, outputs))
    path = os.path.join(config.workdir, "gallery.png")
    gallery(rows, config.gallery_width).save(path)
    log(f"gallery: {path}")
    return report
