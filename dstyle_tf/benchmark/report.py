"""Targets from the performance issue, the printed tables and the JSON file."""

import math

from dstyle_tf import atomic
from dstyle_tf.benchmark import machine
from dstyle_tf.tables import format_records
from dstyle_tf.tables import format_table  # noqa: F401  (public API)
from export import tflite as tflite_lib

# The performance issue's targets.
TFLITE_FLOAT32_EFFICIENCY = 0.60  # of the matmul peak, at 512²
INT8_SPEEDUP = 1.5  # vs TFLite float32
INT8_PSNR_DB = 30.0  # vs TFLite float32
# Worst case over photos against the Keras network, trained networks only
# (issue 22): `export.tflite.PSNR_FLOORS_DB`.
PSNR_FLOORS_DB = tflite_lib.PSNR_FLOORS_DB
TRAIN_EFFICIENCY = 0.55  # Johnson step, 256², batch 4
DEPTH_STEP_RATIO = 1.5  # depth-aware step time / Johnson step time
PIPELINE_RATIO = 10.0  # pipeline images/s / train step images/s
STYLIZE_4096_PEAK_GB = 3.0  # max RSS stylizing a 4096² image
CONDITIONAL_RATIO = 1.05  # N-style network time / single-style, TFLite float32 at 512²
TARGET_SIZE = 512
# The lite network's best TFLite variant, 2 threads (issue 11: a widely used
# 32-channel network's float32 latency on a 2-core AVX2 CPU).
LITE_LATENCY_MS = {512: 187.0, 1024: 656.0}
TRAIN_INPUT = (256, 4)  # image side, batch
MEMORY_SIZE = 4096


def target(section, name, required, measured, passed, note=""):
    return {"section": section, "target": name, "required": required,
            "measured": measured, "passed": passed, "note": note}


def _if(condition, verdict):
    """The verdict where the measurement matches the target's conditions, else None."""
    return verdict if condition else None


def _closest(values, wanted):
    return min(values, key=lambda v: (abs(v - wanted), -v)) if values else None


def fastest_tflite(results):
    """{size: the row of the TFLite variant with the lowest median time}."""
    best = {}
    for row in results:
        if row["backend"].startswith("tflite_") and "+" not in row["backend"]:
            if row["size"] not in best or row["median_ms"] < best[row["size"]]["median_ms"]:
                best[row["size"]] = row
    return best


def psnr_floor_targets(section, trained, section_name="inference", label=""):
    """Worst-case PSNR of each quantised variant against Keras on photos,
    against `PSNR_FLOORS_DB`: a verdict only for a trained network measured
    on photos (a random network's PSNR says nothing about a trained one)."""
    photos = section.get("test_images", "synthetic") != "synthetic"
    targets = []
    for entry in section.get("psnr", []):
        # int8 with float blocks (inference.OUTER_FLOAT) is held to int8's floor.
        floor = PSNR_FLOORS_DB.get(entry["variant"].removesuffix("_outer_float"))
        worst = entry.get("psnr_db_worst_vs_keras")
        if floor is None or worst is None:
            continue
        note = "" if trained and photos else "random weights or synthetic images: no verdict"
        targets.append(target(
            section_name, f"{label}{entry['variant']} worst-case PSNR vs Keras at {entry['size']}²",
            f"≥ {floor:.0f} dB",
            f"{worst:.1f} dB worst, {entry['psnr_db_mean_vs_keras']:.1f} mean over "
            f"{entry['images']} images",
            _if(trained and photos, worst >= floor), note))
    return targets


def inference_targets(inference, simd_class=None, trained=False):
    rows = {(r["backend"], r["size"]): r for r in inference["results"]}
    sizes = sorted({size for backend, size in rows if backend == "tflite_float32"})
    size = _closest(sizes, TARGET_SIZE)
    at_target = size == TARGET_SIZE
    note = "" if at_target else f"measured at {size}², not 512²: no verdict"
    if size is None:
        return [target("inference", "TFLite float32 at 512² ≥ 60% of matmul peak",
                        "≥ 60%", None, None, "TFLite float32 not run")]
    f32 = rows[("tflite_float32", size)]
    efficiency = f32["efficiency_vs_peak"]
    targets = [target(
        "inference", "TFLite float32 at 512² ≥ 60% of matmul peak", "≥ 60%",
        f"{100 * efficiency:.1f}% ({f32['gflops_per_s']:.1f} of {f32['peak_gflops']:.1f} GFLOP/s)",
        _if(at_target, efficiency >= TFLITE_FLOAT32_EFFICIENCY), note,
    )]
    psnr = {(p["variant"], p["size"]): p for p in inference["psnr"]}
    parts, passed = [], False
    for variant in ("dynamic_int8", "int8"):
        row = rows.get((f"tflite_{variant}", size))
        if row is None:
            continue
        speedup = f32["median_ms"] / row["median_ms"]
        db = psnr[(variant, size)].get("psnr_db_vs_tflite_float32")
        ok = speedup >= INT8_SPEEDUP and db is not None and db >= INT8_PSNR_DB
        passed = passed or ok
        parts.append(f"{variant} {speedup:.2f}× at {db:.1f} dB")
    targets.append(target(
        "inference", "dynamic-int8 or full-int8 ≥ 1.5× faster than float32, PSNR ≥ 30 dB vs it",
        "≥ 1.5× and ≥ 30 dB", "; ".join(parts) or None, _if(at_target and parts, passed),
        (note + "; " if note else "") + "PSNR of a random-weight network is not that of a trained "
        f"one; holds for {simd_class or machine.simd_class(None)} CPUs only (int8 speed-ups differ "
        "several-fold between AVX2, AVX-512 and VNNI)",
    ))
    targets += psnr_floor_targets(inference, trained)
    ratio = inference.get("conditional_ratio", {}).get(str(size), {}).get("tflite_float32")
    if ratio is not None:
        styles = next(r["num_styles"] for r in inference["results"] if "+" in r["backend"])
        targets.append(target(
            "inference", "conditional network time / single-style, TFLite float32 at 512²",
            f"≤ {CONDITIONAL_RATIO}×", f"{ratio:.3f}× ({styles} styles)",
            _if(at_target and f32["num_styles"] == 1, ratio <= CONDITIONAL_RATIO), note,
        ))
    return targets


def _best(results, config):
    rows = [r for r in results if r["config"] == config and r["policy"] == "float32"]
    return min(rows, key=lambda r: r["median_ms"]) if rows else None


def xla_mode(row):
    return "XLA" if row["xla"] else "no XLA"


def training_targets(training):
    results = training["results"]
    johnson, depth = _best(results, "johnson"), _best(results, "depth")
    targets = []
    at_target = bool(johnson) and (johnson["image_size"], johnson["batch"]) == TRAIN_INPUT
    off_target = "" if at_target or not johnson else (
        f"measured at {johnson['image_size']}², batch {johnson['batch']}: no verdict")
    if johnson:
        targets.append(target(
            "training", "Johnson train step ≥ 55% of matmul peak (256², batch 4)", "≥ 55%",
            f"{100 * johnson['efficiency_vs_peak']:.1f}% ({johnson['gflops_per_s']:.1f} of "
            f"{johnson['peak_gflops']:.1f} GFLOP/s)",
            _if(at_target, johnson["efficiency_vs_peak"] >= TRAIN_EFFICIENCY),
            off_target or f"fastest mode ({xla_mode(johnson)})",
        ))
    if johnson and depth:
        ratio = depth["median_ms"] / johnson["median_ms"]
        targets.append(target(
            "training", "depth-aware step ≤ 1.5× Johnson step", "≤ 1.5×",
            f"{ratio:.2f}× ({depth['median_ms']:.0f} ms {xla_mode(depth)} vs "
            f"{johnson['median_ms']:.0f} ms {xla_mode(johnson)})",
            _if(at_target, ratio <= DEPTH_STEP_RATIO),
            off_target or "each config in its fastest mode",
        ))
    return targets


def pipeline_target(pipeline, training):
    best = [r for r in (training or {}).get("results", [])]
    if not best:
        return target("pipeline", "input pipeline ≥ 10× train consumption", "≥ 10×",
                       None, None, "training section not run")
    consumer = max(best, key=lambda r: r["images_per_s"])
    ratio = pipeline["images_per_s"] / consumer["images_per_s"]
    at_target = (consumer["image_size"], consumer["batch"]) == TRAIN_INPUT
    pipeline["train_images_per_s"] = consumer["images_per_s"]
    pipeline["ratio_vs_train"] = ratio
    return target(
        "pipeline", "input pipeline ≥ 10× train consumption", "≥ 10×",
        f"{ratio:.1f}× ({pipeline['images_per_s']:.0f} vs {consumer['images_per_s']:.1f} images/s)",
        _if(at_target, ratio >= PIPELINE_RATIO),
        f"vs the fastest train step ({consumer['config']}, {xla_mode(consumer)}); pipeline measured alone"
        + ("" if at_target else "; not at 256², batch 4: no verdict"),
    )


def memory_target(memory):
    rows = [r for r in memory["results"] if not r["baseline"]]
    big = max(rows, key=lambda r: r["size"]) if rows else None
    if big is None:
        return target("memory", "stylize 4096² peak < 3 GB", "< 3 GB", None, None, "not run")
    at_target = big["size"] == MEMORY_SIZE
    note = f"tile {big['tile_size']}" if at_target else f"largest size run {big['size']}²: no verdict"
    return target("memory", "stylize 4096² peak < 3 GB", "< 3 GB", f"{big['max_rss_gb']:.2f} GB",
                   _if(at_target, big["max_rss_gb"] < STYLIZE_4096_PEAK_GB), note)


def models_targets(models):
    """The lite network's best TFLite latency at 512² and 1024² (issue 11),
    and the PSNR floors of networks loaded from files (trained)."""
    targets = []
    for entry in models["models"]:
        targets += psnr_floor_targets(entry, entry["model"].endswith(".keras"), "models",
                                      f"{entry['model']}: ")
        if entry["model"] != "lite":
            continue
        for size, limit in LITE_LATENCY_MS.items():
            rows = [r for r in entry["results"]
                    if r["size"] == size and r["backend"].startswith("tflite_")]
            best = min(rows, key=lambda r: r["median_ms"]) if rows else None
            targets.append(target(
                "models", f"lite network's best TFLite variant at {size}² ≤ {limit:.0f} ms",
                f"≤ {limit:.0f} ms",
                best and f"{best['median_ms']:.0f} ms ({best['backend']}, "
                f"{best.get('interpreter_threads')} threads)",
                _if(best is not None, best is not None and best["median_ms"] <= limit),
                "CPU " + models_cpu(models)
                + ("" if best else f"; not measured at {size}²: no verdict"),
            ))
    return targets


def evaluate_targets(report):
    """Adds `targets` to each section present and returns the full list."""
    simd_class = report.get("conditions", {}).get("machine", {}).get("simd_class")
    trained = str(report.get("conditions", {}).get("model", {}).get("weights", "")).startswith(
        "trained")
    judges = {
        "inference": lambda section: inference_targets(section, simd_class, trained),
        "models": models_targets,
        "training": training_targets,
        "pipeline": lambda section: [pipeline_target(section, report.get("training"))],
        "memory": lambda section: [memory_target(section)],
    }
    targets = []
    for name, judge in judges.items():
        if name in report:
            report[name]["targets"] = judge(report[name])
            targets += report[name]["targets"]
    report["targets"] = targets
    return targets


# --- Formatting ----------------------------------------------------------------

def spread(row):
    """"min–max" of a timing row, in ms."""
    return f"{row['min_ms']:.1f}–{row['max_ms']:.1f}"


def _percent(value):
    return None if value is None else f"{100 * value:.1f}%"


def cpu_features(machine_info):
    """The instruction sets of a report's machine, as text."""
    return machine.isa_summary(machine_info.get("cpu_isa") or {}) or "instruction sets unknown"


def conditions_text(report):
    c = report["conditions"]
    m = c["machine"]
    lines = [
        f"Machine: {m['cpu_model']} ({cpu_features(m)}), {m['usable_cpus']} usable CPUs, "
        f"{c['threads']} threads "
        f"(TF intra/inter-op, TFLite interpreter), GPUs: {', '.join(m['gpus']) or 'none'}",
        f"CPU instruction sets: {machine.isa_summary(m.get('cpu_isa', {})) or 'unknown'}"
        + (f" — emulated ({m['isa_emulation']})" if m.get("isa_emulation") else ""),
        f"Software: TensorFlow {m['tensorflow']}, Keras {m['keras']}, ai-edge-litert "
        f"{m['ai_edge_litert']}, Python {m['python']}",
        f"Load average (1/5/15 min): start {c['load_average_start']}, end {c['load_average_end']}",
        f"Repeats {c['repeats']} (after {c['warmup']} warm-up); times are medians, spread min–max",
        f"Model: {c['model']['description']}",
    ]
    if c["model"].get("note"):
        lines.append(f"  {c['model']['note']}")
    if c["model"].get("conditional"):
        lines.append(f"  Conditional twin (rows '+<N>styles'): {c['model']['conditional']}")
    if "peak" in report:
        p = report["peak"]
        lines.append(
            f"Matmul peak alone: {p['gflops']:.1f} GFLOP/s at the start"
            + (f", {report['peak_end']['gflops']:.1f} at the end" if "peak_end" in report else "")
            + f" (float32 {p['size']}³ tf.linalg.matmul, {c['threads']} threads, median of "
            f"{p['timing']['repeats']}). Each section also times it interleaved with its own "
            "measurements; '% peak' is against that."
        )
    peaks = [(f"inference {size}²", value)
             for size, value in report.get("inference", {}).get("peaks", {}).items()]
    if "peak" in report.get("training", {}):
        peaks.append(("training", report["training"]["peak"]))
    lines += [f"  peak during {name}: {p['gflops']:.1f} GFLOP/s (best call {p['gflops_best']:.1f})"
              for name, p in peaks]
    return "\n".join(lines)


def _psnr(by_variant, row):
    """PSNR (dB) of `row`'s TFLite variant against float32 at its size, or None."""
    entry = by_variant.get((row["backend"].removeprefix("tflite_"), row["size"]), {})
    return entry.get("psnr_db_vs_tflite_float32")


def _psnr_by_variant(section):
    return {(p["variant"], p["size"]): p for p in section["psnr"]}


def inference_table(inference):
    psnr = _psnr_by_variant(inference)
    table = format_records([
        ("backend", "backend"), ("size", "{size}²"), ("median ms", "{median_ms:.1f}"),
        ("min–max ms", spread), ("XNNPACK", lambda r: _xnnpack(r.get("xnnpack"))),
        ("GFLOP", lambda r: f"{r['flops'] / 1e9:.1f}"), ("GFLOP/s", "{gflops_per_s:.1f}"),
        ("% peak", lambda r: _percent(r["efficiency_vs_peak"])),
        ("note", lambda r: "" if _psnr(psnr, r) is None
         else f"PSNR {_psnr(psnr, r):.1f} dB vs float32"),
    ], inference["results"])
    ratios = [
        f"{backend} {ratio:.3f}× at {size}²"
        for size, by_backend in inference.get("conditional_ratio", {}).items()
        for backend, ratio in by_backend.items()
    ]
    if ratios:
        table += "\n  conditional (N-style) / plain network time: " + ", ".join(ratios)
    return table + _fastest_lines(inference["results"], inference.get("cpu"))


def _fastest_lines(results, cpu=None):
    """"fastest TFLite variant at 512²: tflite_int8 (37.0 ms; float32 65.0 ms, 1.76×)" lines."""
    lines = []
    for size, row in sorted(fastest_tflite(results).items()):
        f32 = next((r for r in results if r["backend"] == "tflite_float32"
                    and r["size"] == size), None)
        versus = "" if f32 is None or f32 is row else (
            f"; float32 {f32['median_ms']:.1f} ms, {f32['median_ms'] / row['median_ms']:.2f}×")
        lines.append(f"\n  fastest TFLite variant at {size}²: {row['backend'].removeprefix('tflite_')} "
                     f"({row['median_ms']:.1f} ms{versus})" + (f" on {cpu}" if cpu else ""))
    return "".join(lines)


def models_cpu(models):
    """The instruction sets the models section ran with ("emulated" under --emulate_cpu)."""
    emulated = " (emulated: the rest hidden from CPUID)" if models.get("isa_emulation") else ""
    return machine.isa_summary(models["cpu_isa"]) + emulated


def models_table(models):
    """One row per network, size and backend, the CPU's instruction sets beside each."""
    isa = models_cpu(models)
    records = [{**r, "model": entry["model"], "psnr_db": _psnr(_psnr_by_variant(entry), r)}
               for entry in models["models"] for r in entry["results"]]
    table = format_records([
        ("model", "model"), ("size", "{size}²"), ("GFLOP", lambda r: f"{r['flops'] / 1e9:.2f}"),
        ("backend", "backend"), ("median ms", "{median_ms:.1f}"), ("min–max ms", spread),
        ("threads", "interpreter_threads"),
        ("PSNR dB vs float32", "{psnr_db:.1f}"), ("CPU", lambda r: isa),
    ], records)
    fastest = [_fastest_lines(entry["results"], isa).replace("\n  fastest", f"\n  {entry['model']}: fastest")
               for entry in models["models"]]
    return "\n".join([table] + [f"  {entry['model']}: {entry['description']}"
                                for entry in models["models"]]) + "".join(fastest)


def layers_tables(profiles):
    """Per stage: TFLite float32 and int8 time, split into convolution and
    normalisation + ReLU, one table per image size."""
    columns = [
        ("stage", "stage"),
        ("input", lambda r: "" if r["input_shape"] is None
         else "×".join(str(d) for d in r["input_shape"][1:])),
        ("GFLOP", "{gflop:.2f}"), ("float32 ms", "{float32_ms:.1f}"),
        ("conv / norm+ReLU", "{float32_conv_ms:.1f} / {float32_norm_ms:.1f}"),
        ("int8 ms", "{int8_ms:.1f}"), ("conv / norm+ReLU", "{int8_conv_ms:.1f} / {int8_norm_ms:.1f}"),
        ("int8 in/out", "{int8_boundary_ms:.1f}"),
        ("int8 speed-up", lambda r: f"{r['float32_ms'] / r['int8_ms']:.2f}×"),
    ]
    tables = [
        f"{p['size'][0]}×{p['size'][1]}, {p['threads']} threads:\n" + format_records(
            columns, p["stages"] + [{"stage": "sum of stages", "input_shape": None, **p["totals"]}])
        for p in profiles
    ]
    return "\n\n".join(tables) + (
        "\n  int8 in/out: QUANTIZE → RELU → DEQUANTIZE of the stage's input alone, which the "
        "whole network does once, not per stage")


def _xnnpack(delegation):
    """"240/240 nodes, 1 partition" (+ the ops left outside), or "" (not TFLite)."""
    if not delegation:
        return ""
    text = (f"{delegation['delegated']}/{delegation['nodes']} nodes, "
            f"{delegation['partitions']} partition{'s' * (delegation['partitions'] != 1)}")
    outside = ", ".join(f"{count}× {name}" for name, count in delegation["outside"].items())
    return text + (f"; outside: {outside}" if outside else "")


def training_table(training):
    lines = [format_records([
        ("config", "config"), ("policy", "policy"),
        ("XLA", lambda r: "yes" if r["xla"] else "no"), ("input", "{image_size}²×{batch}"),
        ("median ms", "{median_ms:.0f}"), ("min–max ms", spread), ("steps/s", "{steps_per_s:.2f}"),
        ("images/s", "{images_per_s:.1f}"), ("GFLOP/step", lambda r: f"{r['flops'] / 1e9:.1f}"),
        ("GFLOP/s", "{gflops_per_s:.1f}"), ("% peak", lambda r: _percent(r["efficiency_vs_peak"])),
        ("compile s", "{first_call_s:.0f}"),
    ], training["results"])]
    for name, cost in training["flops"].items():
        parts = ", ".join(f"{k} {v / 1e9:.1f}" for k, v in cost["parts"].items())
        xla = cost.get("xla_hlo", {}).get("total")
        lines.append(f"  {name} step GFLOP: {cost['total'] / 1e9:.1f} analytic ({parts})"
                     + (f"; XLA HLO {xla / 1e9:.1f}" if xla else ""))
    if training.get("depth_to_johnson_flops_ratio"):
        ratios = ", ".join(f"{k} {v:.2f}×" for k, v in training["depth_to_johnson_time_ratio"].items())
        lines.append(f"  depth/Johnson: FLOPs {training['depth_to_johnson_flops_ratio']:.2f}×, "
                     f"time {ratios}")
    if training.get("edge_to_johnson_time_ratio"):
        ratios = ", ".join(f"{k} {v:.2f}×" for k, v in training["edge_to_johnson_time_ratio"].items())
        lines.append(f"  edge/Johnson (HED edge term): time {ratios}")
    return "\n".join(lines)


def pipeline_table(pipeline):
    return format_records([
        ("source", "source"), ("files", "files"), ("output", "{image_size}²×{batch}"),
        ("images/s", "{images_per_s:.0f}"),
        ("min–max", "{images_per_s_min:.0f}–{images_per_s_max:.0f}"),
        ("train images/s", lambda r: None if r.get("train_images_per_s") is None
         else f"{r['train_images_per_s']:.1f}"),
        ("ratio", lambda r: None if r.get("ratio_vs_train") is None
         else f"{r['ratio_vs_train']:.1f}×"),
    ], [pipeline])


def memory_table(memory):
    return format_records([
        ("image", lambda r: f"{r['size']}²" + (" (baseline)" if r["baseline"] else "")),
        ("tile", "tile_size"), ("max RSS GB", "{max_rss_gb:.2f}"), ("wall s", "{wall_s:.1f}"),
    ], memory["results"])


def video_table(video, machine=None):
    lines = [format_records([
        ("backend", "backend"), ("frame", "{width}×{height}"), ("frames", "frames"),
        ("video frames/s", "{frames_per_s:.2f}"), ("network frames/s", "{network_frames_per_s:.2f}"),
        ("network ms", "{network_ms:.1f}"), ("decode+encode ms/frame", "{decode_encode_ms:.1f}"),
        ("CPU ms/frame", "{cpu_ms_per_frame:.0f}"),
    ], video["results"]), f"  clip: {video['clip']}"]
    if machine:
        lines.append(f"  CPU: {machine['cpu_model']} ({cpu_features(machine)}), "
                     f"{machine['threads']} threads")
    return "\n".join(lines)


def targets_table(targets):
    verdict = {True: "PASS", False: "FAIL", None: "n/a"}
    return format_records([
        ("section", "section"), ("target", "target"), ("required", "required"),
        ("measured", "measured"), ("result", lambda t: verdict[t["passed"]]),
        ("note", "note"),
    ], targets)


def format_report(report):
    """The whole report as text: conditions, one table per section, targets."""
    parts = [conditions_text(report)]
    machine_info = report["conditions"]["machine"]
    for name, table in (("inference", inference_table), ("models", models_table),
                        ("layers", layers_tables), ("training", training_table),
                        ("pipeline", pipeline_table), ("memory", memory_table),
                        ("video", lambda section: video_table(section, machine_info))):
        if name in report:
            parts.append(f"== {name} ==\n{table(report[name])}")
    if report.get("targets"):
        parts.append(f"== targets ==\n{targets_table(report['targets'])}")
    return "\n\n".join(parts)


def _finite(value):
    """JSON-safe copy: non-finite floats become None, keys become strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_json(report, path):
    """Writes the report atomically as JSON without NaN/Infinity (they become null)."""
    atomic.write_json(path, _finite(report))
