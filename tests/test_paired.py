"""Paired statistics and verdicts of the Johnson / structure-aware comparison."""

import numpy as np
import pytest
from scipy import stats

from dstyle_tf.evaluation import paired


def make_pairs(baseline_f1, treatment_f1, baseline_gram=None, treatment_gram=None, **extra):
    n = len(baseline_f1)
    baseline_gram = np.full(n, 100.0) if baseline_gram is None else baseline_gram
    treatment_gram = np.full(n, 100.0) if treatment_gram is None else treatment_gram
    return [
        ({"edge_f1": bf, "edge_spurious": 1 - bf, "gram_distance": bg, "image": "x"},
         {"edge_f1": tf, "edge_spurious": 1 - tf, "gram_distance": tg, "image": "x"})
        for bf, tf, bg, tg in zip(baseline_f1, treatment_f1, baseline_gram, treatment_gram)
    ]


def test_the_interval_is_scipys_paired_t_interval():
    rng = np.random.default_rng(3)
    baseline = rng.uniform(0.3, 0.5, 16)
    treatment = baseline + rng.normal(0.08, 0.03, 16)
    statistics = paired.paired_statistics(make_pairs(baseline, treatment))
    reference = stats.ttest_rel(treatment, baseline).confidence_interval(0.95)
    f1 = statistics["edge_f1"]
    assert f1["difference"]["low"] == pytest.approx(reference.low)
    assert f1["difference"]["high"] == pytest.approx(reference.high)
    assert f1["difference"]["mean"] == pytest.approx(np.mean(treatment - baseline))
    assert f1["difference"]["n"] == 16
    assert f1["baseline"] == pytest.approx(baseline.mean()) and f1["better"] == "higher"
    assert statistics["edge_spurious"]["difference"]["high"] == pytest.approx(-reference.low)
    assert "ssim" not in statistics  # no pair holds it


def test_an_interval_includes_zero_when_the_differences_straddle_it():
    differences = [0.1, -0.08, 0.05, -0.06, 0.02]
    interval = paired.mean_interval(differences)
    assert interval["low"] < 0 < interval["high"]
    assert (interval["low"], interval["high"]) == pytest.approx(
        stats.t.interval(0.95, 4, loc=np.mean(differences), scale=stats.sem(differences)))


def test_nan_pairs_are_skipped_and_one_pair_has_no_interval():
    assert paired.mean_interval([0.2, float("nan")]) == pytest.approx(
        {"mean": 0.2, "low": np.nan, "high": np.nan, "std": np.nan, "n": 1}, nan_ok=True)
    assert paired.mean_interval([])["n"] == 0


def test_gram_ratio_of_means_and_mean_of_ratios():
    pairs = make_pairs([0.4, 0.4], [0.5, 0.5], [100.0, 300.0], [120.0, 300.0])
    ratio = paired.gram_ratio(pairs)
    assert ratio["ratio_of_means"] == pytest.approx(420 / 400)
    assert ratio["mean_of_ratios"] == pytest.approx((1.2 + 1.0) / 2)
    assert ratio["equal"] and ratio["bound"] == 0.1
    assert not paired.gram_ratio(make_pairs([0.4], [0.5], [100.0], [111.0]))["equal"]


def test_verdicts_when_the_claim_is_met():
    rng = np.random.default_rng(0)
    baseline = rng.uniform(0.3, 0.5, 16)
    pairs = make_pairs(baseline, baseline + rng.normal(0.09, 0.02, 16), treatment_gram=np.full(16, 105.0))
    statistics, ratio = paired.paired_statistics(pairs), paired.gram_ratio(pairs)
    verdicts = paired.verdicts(statistics, ratio)
    assert verdicts["claim"] and verdicts["edge_f1_gain"] and verdicts["lower_spurious"]
    d = statistics["edge_f1"]["difference"]
    assert verdicts["lines"] == [
        "equal style strength: yes (ratio 1.050, bound ±10%)",
        f"edge F1 gain: {d['mean']:+.3g} [{d['low']:+.3g}, {d['high']:+.3g}] — target +0.05 "
        "with interval excluding 0: met",
        f"edge spurious share: {-d['mean']:+.3g} [{-d['high']:+.3g}, {-d['low']:+.3g}] — target "
        "lower with interval excluding 0: met",
        "structure claim (all three): met",
    ]
    assert paired.style_hint(ratio) == ""


@pytest.mark.parametrize("gain, spread, gram, missed", [
    (0.03, 0.01, 100.0, "edge F1 gain"),  # interval excludes 0, gain below target
    (0.06, 0.3, 100.0, "edge F1 gain"),  # mean above target, interval includes 0
    (0.09, 0.02, 130.0, "equal style strength"),  # weaker style
])
def test_verdicts_when_the_claim_is_missed(gain, spread, gram, missed):
    rng = np.random.default_rng(1)
    baseline = rng.uniform(0.3, 0.5, 16)
    pairs = make_pairs(baseline, baseline + rng.normal(gain, spread, 16), treatment_gram=np.full(16, gram))
    verdicts = paired.verdicts(paired.paired_statistics(pairs), paired.gram_ratio(pairs))
    assert not verdicts["claim"]
    line = next(line for line in verdicts["lines"] if line.startswith(missed))
    assert line.endswith(("missed", "no (ratio 1.300, bound ±10%)"))
    assert verdicts["lines"][-1] == "structure claim (all three): missed"
    if missed == "equal style strength":
        assert "raise its λs" in paired.style_hint(paired.gram_ratio(pairs))


def test_verdicts_without_pairs_are_missed():
    verdicts = paired.verdicts({}, paired.gram_ratio([]))
    assert not any(verdicts[k] for k in ("equal_style_strength", "edge_f1_gain", "lower_spurious", "claim"))
    assert verdicts["lines"][0] == "equal style strength: no (ratio –, bound ±10%)"
    assert verdicts["lines"][1].startswith("edge F1 gain: – [–, –]")


def test_markdown_table_has_a_row_per_metric():
    pairs = make_pairs([0.4, 0.5, 0.45], [0.5, 0.55, 0.5])
    table = paired.markdown_table(paired.paired_statistics(pairs), {"edge_f1": "edge F1"}, ("J", "S"))
    lines = table.splitlines()
    assert lines[0] == "| metric | better | J | S | difference | 95% interval | n |"
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| gram_distance", "| edge F1", "| edge_spurious"]
    assert lines[3].startswith("| edge F1 | ↑ | 0.45 | 0.5167 | +0.0667 | [")
    assert lines[3].endswith("| 3 |")
