"""Paired statistics of two methods measured on the same photos and seeds.

`python -m dstyle_tf.compare` measures Johnson's network and the
structure-aware one on the same held-out photos, once per training seed. Each
(photo, seed) gives a pair of metric rows; per metric the difference
treatment − baseline is taken pair by pair, and its mean gets a 95%
Student-t interval over the pairs (deterministic, and exact for normal
differences; a percentile bootstrap is too narrow at the 8–20 pairs a CPU
affords). Pairs of one photo under different seeds are treated as
independent: the interval speaks for these photos, not for photos at large.

The claim the comparison tests (issue 20): at equal style strength — the
treatment's mean Gram distance within ±10% of the baseline's — edge F1
(Canny) at least 0.05 higher with an interval that excludes 0, and a lower
spurious share (interval below 0).
"""

import math

import numpy as np

from dstyle_tf.metrics import METRIC_DIRECTIONS

PAIRED_METRICS = (
    "gram_distance", "content_distance", "edge_f1", "edge_precision", "edge_recall",
    "edge_spurious", "hed_f1", "hed_spurious", "ssim",
)
CONFIDENCE = 0.95
STYLE_BOUND = 0.10  # equal style strength: Gram-distance ratio within 1 ± this
EDGE_F1_TARGET = 0.05


def mean_interval(values, confidence=CONFIDENCE):
    """Mean of `values` and its Student-t interval; NaNs are dropped.

    Returns:
        {"mean", "low", "high", "std", "n"}; the interval is NaN for n < 2,
        the mean for n = 0 too; "std" has ddof = 1.
    """
    from scipy import stats

    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    n = int(values.size)
    nan = float("nan")
    if n == 0:
        return {"mean": nan, "low": nan, "high": nan, "std": nan, "n": 0}
    mean = float(values.mean())
    if n < 2:
        return {"mean": mean, "low": nan, "high": nan, "std": nan, "n": n}
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return {"mean": mean, "low": mean - half, "high": mean + half, "std": std, "n": n}


def paired_statistics(pairs, metrics=PAIRED_METRICS, confidence=CONFIDENCE):
    """Per metric, the baseline and treatment means and the paired difference.

    Args:
        pairs: (baseline row, treatment row) metric dicts of the same photo
            and seed.
        metrics: the metrics to report; those no pair holds are left out.

    Returns:
        {metric: {"baseline", "treatment" (means over the pairs where both are
        finite), "difference": `mean_interval` of treatment − baseline,
        "better": "higher" | "lower"}}.
    """
    result = {}
    for metric in metrics:
        values = np.array(
            [(b.get(metric, np.nan), t.get(metric, np.nan)) for b, t in pairs], np.float64
        ).reshape(-1, 2)
        values = values[np.isfinite(values).all(axis=1)]
        if not len(values):
            continue
        result[metric] = {
            "baseline": float(values[:, 0].mean()),
            "treatment": float(values[:, 1].mean()),
            "difference": mean_interval(values[:, 1] - values[:, 0], confidence),
            "better": METRIC_DIRECTIONS.get(metric, ""),
        }
    return result


def gram_ratio(pairs, bound=STYLE_BOUND):
    """Treatment / baseline Gram distance: ratio of the means (the verdict's)
    and mean of the per-pair ratios, and whether the first is within 1 ± bound."""
    values = np.array([(b["gram_distance"], t["gram_distance"]) for b, t in pairs], np.float64)
    values = values.reshape(-1, 2)
    values = values[np.isfinite(values).all(axis=1) & (values[:, 0] > 0)]
    if not len(values):
        nan = float("nan")
        return {"ratio_of_means": nan, "mean_of_ratios": nan, "bound": bound, "equal": False}
    ratio = float(values[:, 1].mean() / values[:, 0].mean())
    return {
        "ratio_of_means": ratio,
        "mean_of_ratios": float((values[:, 1] / values[:, 0]).mean()),
        "bound": bound,
        "equal": bool(abs(ratio - 1.0) <= bound),
    }


def _signed(value):
    return f"{value:+.3g}" if math.isfinite(value) else "–"


def _interval_text(difference):
    return f"{_signed(difference['mean'])} [{_signed(difference['low'])}, {_signed(difference['high'])}]"


def verdicts(statistics, ratio, f1_target=EDGE_F1_TARGET):
    """The claim's parts, met or not, each with its line of text.

    Args:
        statistics: `paired_statistics` (edge_f1 and edge_spurious used).
        ratio: `gram_ratio`.

    Returns:
        {"equal_style_strength", "edge_f1_gain", "lower_spurious", "claim":
        bool, "lines": [str]}; a missing metric counts as missed.
    """
    nan = {"mean": float("nan"), "low": float("nan"), "high": float("nan"), "n": 0}
    f1 = statistics.get("edge_f1", {}).get("difference", nan)
    spurious = statistics.get("edge_spurious", {}).get("difference", nan)
    gain = f1["mean"] >= f1_target and f1["low"] > 0  # NaN compares False
    lower = spurious["high"] < 0
    claim = ratio["equal"] and gain and lower
    r = f"{ratio['ratio_of_means']:.3f}" if math.isfinite(ratio["ratio_of_means"]) else "–"
    lines = [
        f"equal style strength: {'yes' if ratio['equal'] else 'no'} "
        f"(ratio {r}, bound ±{ratio['bound']:.0%})",
        f"edge F1 gain: {_interval_text(f1)} — target {f1_target:+.2f} with interval "
        f"excluding 0: {'met' if gain else 'missed'}",
        f"edge spurious share: {_interval_text(spurious)} — target lower with interval "
        f"excluding 0: {'met' if lower else 'missed'}",
        f"structure claim (all three): {'met' if claim else 'missed'}",
    ]
    return {"equal_style_strength": ratio["equal"], "edge_f1_gain": gain,
            "lower_spurious": lower, "claim": claim, "lines": lines}


def style_hint(ratio):
    """A line on how to reach equal style strength, or "" if it holds."""
    r = ratio["ratio_of_means"]
    if ratio["equal"] or not math.isfinite(r):
        return ""
    if r > 1:
        return ("The structure-aware network's style is weaker (higher Gram distance): "
                "raise its λs, e.g. --structure_override=loss.style_weight=<larger>.")
    return ("The structure-aware network's style is stronger (lower Gram distance): "
            "lower its λs, e.g. --structure_override=loss.style_weight=<smaller>.")


def markdown_table(statistics, names=None, labels=("baseline", "treatment")):
    """Markdown: a row per metric with both means, the mean difference, its
    interval and n (`names`: display names by metric)."""
    names = names or {}
    arrows = {"higher": "↑", "lower": "↓"}
    header = f"| metric | better | {labels[0]} | {labels[1]} | difference | 95% interval | n |"
    lines = [header, "| --- | :---: | ---: | ---: | ---: | ---: | ---: |"]
    for metric, entry in statistics.items():
        d = entry["difference"]
        lines.append(
            f"| {names.get(metric, metric)} | {arrows.get(entry['better'], '')} "
            f"| {entry['baseline']:.4g} | {entry['treatment']:.4g} | {_signed(d['mean'])} "
            f"| [{_signed(d['low'])}, {_signed(d['high'])}] | {d['n']} |"
        )
    return "\n".join(lines) + "\n"
