"""Flicker of each evaluated method: the temporal column of the report.

`flicker_rows(methods, photos, num_frames)` films a short synthetic clip of
every photo (`dstyle_tf.metrics.synthetic_clip`), stylises each frame with
each method and returns one row per (photo, method) with
`flicker_warp_error` and `flicker_ratio` (`dstyle_tf.metrics.flicker`),
ready to merge into the rows of `evaluate_photo`.

Only trained networks (`kind == "model"`) are measured by default: Gatys
optimisation would take minutes per frame, and its rows get NaN (skipped by
the averages).
"""

from dstyle_tf.metrics.temporal import FLICKER_METRICS
from dstyle_tf.metrics.temporal import flicker


def flicker_rows(methods, photos, num_frames=8, kinds=("model",), **clip_options):
    """Flicker metrics of every method on every photo.

    Args:
        methods: `evaluation.Method`s (label, stylize, kind).
        photos: (name, RGB (H, W, 3) array in [0, 255]) pairs.
        num_frames: frames of each synthetic clip (≥ 2).
        kinds: method kinds to measure; the others get NaN.
        **clip_options: `synthetic_clip` options (max_shift, max_zoom, noise,
            blur, margin, seed).

    Returns:
        list of rows {"image", "model", "flicker_warp_error",
        "flicker_ratio"}, photos in the outer and methods in the inner order.
    """
    rows = []
    for name, photo in photos:
        for method in methods:
            row = {"image": name, "model": method.label}
            if method.kind in kinds:
                result = flicker(method.stylize, photo, num_frames, **clip_options)
                row.update({metric: result[metric] for metric in FLICKER_METRICS})
            else:
                row.update(dict.fromkeys(FLICKER_METRICS, float("nan")))
            rows.append(row)
    return rows
