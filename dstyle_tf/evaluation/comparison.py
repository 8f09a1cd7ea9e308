"""Johnson et al. against the structure-aware network, trained and judged offline.

One call reproduces docs/results.md: train `configs/demo.py` (Johnson's
objective) and `configs/structure.py` (plus the edge and depth terms) with
the same photos, crops and steps, once per seed; stylise photos neither saw
(`photo_sets`' held-out set, plus any folder given); measure every network
with `run_evaluation` (Canny and HED edge F1 / spurious share, SSIM,
saliency, Gram distance to the style, …); compare the two per photo and
seed (`evaluation.paired`: mean differences with 95% intervals, the
Gram-distance ratio and the claim's verdict); and draw a gallery of the
first seed: photo | Johnson | structure-aware.

    python -m dstyle_tf.compare --workdir=runs/compare --seeds=0,1

Workdir layout:

    <workdir>/johnson/seed<k>/, structure/seed<k>/   training runs (resumed)
    <workdir>/photos/                 the measured photos (extra/: --extra_content)
    <workdir>/evaluation/             report.json/.md, sheets, images/<label>_seed<k>/
    <workdir>/comparison.json, comparison.md, gallery.png
"""

import dataclasses
import json
import os

from absl import logging
from PIL import Image
from PIL import ImageDraw

from dstyle_tf import image_io
from dstyle_tf import photo_sets
from dstyle_tf.atomic import write_json
from dstyle_tf.atomic import write_text
from dstyle_tf.config_files import apply_overrides
from dstyle_tf.config_files import config_differences
from dstyle_tf.config_files import load_config
from dstyle_tf.drawing import fit_cell
from dstyle_tf.drawing import font
from dstyle_tf.drawing import text_size
from dstyle_tf.errors import UserError
from dstyle_tf.errors import check_choice
from dstyle_tf.evaluation import paired
from dstyle_tf.evaluation.runner import EvaluationConfig
from dstyle_tf.evaluation.runner import output_image_path
from dstyle_tf.evaluation.runner import run_evaluation

LABELS = ("johnson", "structure")
TITLES = {"photo": "photo", "johnson": "Johnson et al.", "structure": "structure-aware"}
JOHNSON_CONFIG = "configs/demo.py"
PHOTO_SETS = ("held_out", "none")
# Longer side of the photos kept in <workdir>/photos (at least --max_size);
# the evaluation downscales them to --max_size.
PHOTO_SIZE = 1024


class TrainingInterrupted(RuntimeError):
    """A signal stopped one of the trainings (a checkpoint was saved)."""

    def __init__(self, label, signal_name):
        super().__init__(f"training {label} was stopped by {signal_name}; run the same command to resume.")
        self.signal_name = signal_name


@dataclasses.dataclass
class ComparisonConfig:
    """What `python -m dstyle_tf.compare` does; fields are its flags.

    Attributes:
        workdir: holds the training runs, photos/, evaluation/, gallery.png
            and comparison.json / .md (layout in the module docstring).
        style: bundled style name or style image path (both runs).
        steps: training steps of both runs; 0 keeps the configs' (1000).
        seeds: comma-separated training seeds (or a list of ints); each
            network is trained once per seed (`config.seed`).
        photos: held_out (`photo_sets`' 8 held-out photos; scikit-image's 2
            alone, with a warning, without the Debian packages) | none
            (only `extra_content`'s photos).
        extra_content: optional folder of more held-out photos to measure
            (they are measured, not drawn in the gallery).
        max_size: longer side of the photos when stylised and measured.
        gallery_width: width of one gallery cell in pixels.
        structure_config: the structure-aware network's config file
            (Johnson's is `configs/demo.py`).
        structure_override, johnson_override: `key=value` overrides of the
            two configs (`config_files.apply_overrides`), applied after
            `steps`.
    """

    workdir: str
    style: str = "starry_night"
    steps: int = 0
    seeds: str = "0"
    photos: str = "held_out"
    extra_content: str = ""
    max_size: int = 256
    gallery_width: int = 256
    structure_config: str = "configs/structure.py"
    structure_override: list = dataclasses.field(default_factory=list)
    johnson_override: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Run:
    """One training of the comparison: a label's config with one seed."""

    label: str
    seed: int
    config: object  # ml_collections.ConfigDict
    workdir: str

    @property
    def method(self):
        """Its method label in the evaluation: "<label>/seed<k>"."""
        return f"{self.label}/seed{self.seed}"


def parse_seeds(seeds):
    """`"0,1"` (or [0, 1]) → [0, 1]; distinct integers ≥ 0, at least one."""
    items = seeds.split(",") if isinstance(seeds, str) else list(seeds)
    try:
        values = [int(str(item).strip()) for item in items]
    except ValueError:
        raise UserError(f"--seeds {seeds!r}: expected integers separated by commas, e.g. 0,1.") from None
    if not values or min(values) < 0 or len(set(values)) != len(values):
        raise UserError(f"--seeds {seeds!r}: expected distinct integers ≥ 0, e.g. 0,1.")
    return values


def training_configs(config):
    """The two training configs, identical but for the structure terms (and
    any overrides): {"johnson": ..., "structure": ...}."""
    files = {"johnson": JOHNSON_CONFIG, "structure": config.structure_config}
    overrides = {"johnson": config.johnson_override, "structure": config.structure_override}
    configs = {}
    for label in LABELS:
        configs[label] = load_config(files[label], config.style)
        if config.steps:
            configs[label].train.steps = config.steps
        apply_overrides(configs[label], overrides[label], f"--{label}_override")
    return configs


def training_runs(config, configs=None):
    """Every training of the comparison, seed by seed: `Run`s with
    `config.seed` set, in <workdir>/<label>/seed<k>."""
    configs = configs or training_configs(config)
    runs = []
    for seed in parse_seeds(config.seeds):
        for label in LABELS:
            seeded = configs[label].copy_and_resolve_references()
            seeded.seed = seed
            runs.append(Run(label, seed, seeded, os.path.join(config.workdir, label, f"seed{seed}")))
    return runs


def migrate_single_seed_layout(label_dir, log=print):
    """Moves a run of the old layout (<workdir>/<label> itself a training
    workdir, before --seeds) into <label>/seed<k>, k its recorded seed, so
    it resumes there. Does nothing when there is no such run."""
    record = os.path.join(label_dir, "config.json")
    if not os.path.isfile(record):
        return
    with open(record) as f:
        seed = int(json.load(f).get("seed", 0))
    target = os.path.join(label_dir, f"seed{seed}")
    if os.path.exists(target):
        raise UserError(f"{label_dir} holds a training run and {target} another: move one away.")
    entries = os.listdir(label_dir)
    os.makedirs(target)
    for entry in entries:
        os.rename(os.path.join(label_dir, entry), os.path.join(target, entry))
    log(f"moved the training run in {label_dir} to {target}")


def write_comparison_photos(folder, photos="held_out", extra_content="", max_size=PHOTO_SIZE):
    """The measured photos into `folder` (existing files are kept): the
    held-out set of `photo_sets`, and an extra folder's under extra/.

    Args:
        photos: held_out (scikit-image's and the Debian photographs; only
            scikit-image's, with a warning, when the Debian packages are
            missing) | none (only `extra_content`'s).

    Returns:
        (folder to measure, names of the photos in it to draw in the
        gallery): `folder` and the set's photos, or with "none" `folder`/extra
        and all of its photos.
    """
    check_choice("--photos", photos, PHOTO_SETS, error=UserError)
    if photos == "none" and not extra_content:
        raise UserError("--photos=none measures only --extra_content: give that folder.")
    extra = os.path.join(folder, "extra")
    if extra_content:
        for entry in sorted(os.listdir(extra_content)):
            source = os.path.join(extra_content, entry)
            target = os.path.join(extra, os.path.splitext(entry)[0] + ".png")
            if os.path.isfile(source) and not os.path.exists(target):
                os.makedirs(extra, exist_ok=True)
                image_io.save_image(target, image_io.load_image(source))
    if photos == "none":
        return extra, sorted(os.listdir(extra))
    names = photo_sets.photo_names("held_out")
    written = photo_sets.write_photo_set(folder, "held_out", max_size=max_size, require_debian=False)
    if len(written) < len(names):
        missing = sorted({source for source, name in names if f"{name}.png" not in written})
        logging.warning(
            "Debian photos not installed (%s): measuring %d held-out photos, not %d; for all: %s",
            ", ".join(missing), len(written), len(names), photo_sets.INSTALL_HINT,
        )
    return folder, list(written)


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


def photo_seed_pairs(rows, runs):
    """[(image, seed, johnson row, structure row)] of the evaluation's rows
    (`report["per_image"]`), photo by photo, seeds in order."""
    by_key = {(row["image"], row["model"]): row for row in rows}
    images = list(dict.fromkeys(row["image"] for row in rows))
    seeds = list(dict.fromkeys(run.seed for run in runs))
    methods = {(run.label, run.seed): run.method for run in runs}
    pairs = []
    for image in images:
        for seed in seeds:
            baseline = by_key.get((image, methods["johnson", seed]))
            treatment = by_key.get((image, methods["structure", seed]))
            if baseline is not None and treatment is not None:
                pairs.append((image, seed, baseline, treatment))
    return pairs


def summarize(pairs, config, configs):
    """comparison.json's content: paired statistics, Gram ratio, verdicts,
    per-pair differences and what was compared."""
    rows = [(b, t) for _, _, b, t in pairs]
    statistics = paired.paired_statistics(rows)
    ratio = paired.gram_ratio(rows)
    files = {"johnson": JOHNSON_CONFIG, "structure": config.structure_config}
    overrides = {"johnson": config.johnson_override, "structure": config.structure_override}
    return {
        "baseline": "johnson",
        "treatment": "structure",
        "seeds": parse_seeds(config.seeds),
        "images": list(dict.fromkeys(image for image, _, _, _ in pairs)),
        "pairs": len(pairs),
        "interval": f"{paired.CONFIDENCE:.0%} Student-t interval over the photo × seed pairs",
        "statistics": statistics,
        "gram_ratio": ratio,
        "verdicts": paired.verdicts(statistics, ratio),
        "per_pair": [
            {"image": image, "seed": seed,
             **{metric: t.get(metric, float("nan")) - b.get(metric, float("nan"))
                for metric in statistics}}
            for image, seed, b, t in pairs
        ],
        "configs": {label: {"file": files[label], "overrides": list(overrides[label])}
                    for label in LABELS},
        "config_differences": {
            key: list(values) for key, values in
            config_differences(configs["johnson"], configs["structure"]).items()
        },
        "settings": {"style": config.style, "steps": configs["johnson"].train.steps,
                     "max_size": config.max_size, "photos": config.photos},
    }


def comparison_markdown(summary):
    """comparison.md: what was compared, the paired table and the verdicts."""
    from dstyle_tf.evaluation.report import METRIC_NAMES

    seeds = ", ".join(map(str, summary["seeds"]))
    settings = summary["settings"]
    differences = "; ".join(
        f"{key} {a!r} → {b!r}" for key, (a, b) in summary["config_differences"].items()
    ) or "nothing"
    ratio = summary["gram_ratio"]
    hint = paired.style_hint(ratio)
    return (
        "# Johnson et al. against structure-aware, paired over photos × seeds\n\n"
        f"{summary['pairs']} pairs: {len(summary['images'])} photos × seeds {seeds}; "
        f"style {settings['style']}, {settings['steps']} steps, photos at {settings['max_size']} px.\n"
        "Difference = structure-aware − Johnson on the same photo and seed; its mean and "
        f"{summary['interval']}.\n\n"
        f"The configs differ in: {differences}.\n\n"
        + paired.markdown_table(summary["statistics"], METRIC_NAMES, ("Johnson", "structure-aware"))
        + f"\nGram distance structure-aware / Johnson: {ratio['ratio_of_means']:.3f} (ratio of "
        f"the means), {ratio['mean_of_ratios']:.3f} (mean of the per-pair ratios).\n\n"
        + "".join(f"- {line}\n" for line in summary["verdicts"]["lines"])
        + (f"\n{hint}\n" if hint else "")
    )


@dataclasses.dataclass
class ComparisonResult:
    """What `run_comparison` returns."""

    report: dict  # the evaluation report (`run_evaluation`)
    summary: dict  # comparison.json's content (`summarize`)
    markdown: str  # comparison.md


def train_runs(runs, log=print):
    """Trains (or resumes) every run; raises `TrainingInterrupted` on a signal."""
    from dstyle_tf.training import train

    for run in runs:
        log(f"training {run.method} ({run.config.train.steps} steps) in {run.workdir}")
        result = train(run.config, run.workdir)
        if result.interrupted:
            raise TrainingInterrupted(run.method, result.interrupted)


def run_comparison(config, log=print):
    """Trains (or resumes) both networks per seed, evaluates them, compares
    them pair by pair, draws the gallery of the first seed.

    Returns:
        a `ComparisonResult`; writes the workdir's files (module docstring).
    """
    from dstyle_tf.evaluation.report import finite_or_none

    configs = training_configs(config)  # bad config files or overrides fail here
    runs = training_runs(config, configs)
    photos, drawn = write_comparison_photos(
        os.path.join(config.workdir, "photos"), config.photos, config.extra_content,
        max(PHOTO_SIZE, config.max_size),
    )
    for label in LABELS:
        migrate_single_seed_layout(os.path.join(config.workdir, label), log)
    train_runs(runs, log)
    output = os.path.join(config.workdir, "evaluation")
    evaluation = EvaluationConfig(
        models=[f"{run.method}={run.workdir}" for run in runs],
        content=photos,
        style=configs["johnson"].style.image,
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
    summary = summarize(photo_seed_pairs(report["per_image"], runs), config, configs)
    markdown = comparison_markdown(summary)
    write_json(os.path.join(config.workdir, "comparison.json"), finite_or_none(summary))
    write_text(os.path.join(config.workdir, "comparison.md"), markdown)
    first = {run.label: run.method for run in runs if run.seed == runs[0].seed}
    rows = []
    for name in drawn:
        photo = image_io.load_image(os.path.join(photos, name), max_size=config.max_size)
        outputs = {label: image_io.load_image(output_image_path(output, first[label], name))
                   for label in LABELS}
        rows.append((photo, outputs))
    path = os.path.join(config.workdir, "gallery.png")
    gallery(rows, config.gallery_width).save(path)
    log(f"gallery: {path}")
    return ComparisonResult(report, summary, markdown)
