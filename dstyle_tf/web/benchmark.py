"""The page measured in headless Chromium, next to Python's TFLite interpreter.

    python -m dstyle_tf.web --benchmark [--size=512] [--repeats=7]

- **Time to first result**: from opening the page (navigation start) to the
  first stylised picture on it, a generated photo of size² chosen as soon as
  the file input exists: HTML, scripts, the WebAssembly runtime, the first
  network (fetched and compiled) and one inference. Each load is a fresh
  browser context (empty HTTP cache); the median of `loads` is reported.
- **Per image**: `window.dstyle.stylize` on the same photo, median of
  `repeats` after one warm-up: padding, the network, cropping and blending
  (and the network alone).
- **Python**: `TFLiteStylizer` (ai-edge-litert, XNNPACK) on the same file
  and photo, with the page's thread count and with the runtime's default.
- **Page weight**: the bytes the page fetched up to its first result (HTML,
  CSS, scripts, one WebAssembly build, one network, a thumbnail), with all
  four networks, and gzip-compressed (what a compressing host sends).

Both the cross-origin isolated page (threaded WebAssembly, as `python -m
dstyle_tf.web` serves it) and a plain static host's (one thread) are
measured.
"""

import gzip
import io
import os
import statistics
import time
import urllib.parse

import numpy as np

from dstyle_tf import pretrained
from dstyle_tf.web import browser as browser_lib
from dstyle_tf.web.site import MANIFEST


def png_bytes(image):
    """A float or uint8 (H, W, 3) image as PNG file bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.clip(np.round(image), 0, 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def choose_photo(page, name, data, mime="image/png"):
    """Sets the page's file input to a file of these bytes (as a user would)."""
    page.set_input_files("#file", files=[{"name": name, "mimeType": mime, "buffer": data}])


def first_result(browser, address, photo, timeout_ms=300_000):
    """Opens the page in a fresh context (empty cache) and chooses the PNG
    `photo` as soon as the file input exists; returns (milliseconds from
    navigation start to the first result, the URLs the page fetched)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(address, wait_until="commit")
        page.wait_for_selector("#file", state="attached")
        page.wait_for_function("window.dstyle !== undefined")
        choose_photo(page, "photo.png", photo)
        page.wait_for_function("window.dstyle.events >= 1", timeout=timeout_ms)
        if page.evaluate("window.dstyle.results") < 1:
            raise RuntimeError(f"the page did not stylise: {page.text_content('#message')}")
        first = page.evaluate("window.dstyle.firstResultAt")
        fetched = page.evaluate(
            "[location.href, ...performance.getEntriesByType('resource').map(e => e.name)]")
        return first, fetched
    finally:
        context.close()


def _per_image(browser, address, photo, repeats):
    page = browser_lib.open_page(browser, address)
    try:
        height, width = photo.shape[:2]
        rgba = np.concatenate([photo, np.full((height, width, 1), 255.0)], axis=-1)
        image = {"width": width, "height": height,
                 "rgba": _base64(np.round(rgba).astype(np.uint8).tobytes())}
        times, network_times, backend = [], [], None
        for _ in range(repeats + 1):  # the first call loads the network
            result = page.evaluate("image => window.dstyle.stylize(image)", image)
            times.append(result["ms"])
            network_times.append(result["networkMs"])
            backend = result["backend"]
        return times[1:], network_times[1:], backend
    finally:
        page.close()


def _base64(data):
    import base64

    return base64.b64encode(data).decode("ascii")


def _site_file(site_dir, address, url):
    path = urllib.parse.urlparse(url).path
    relative = path[len(urllib.parse.urlparse(address).path):] or "index.html"
    return os.path.join(site_dir, *relative.split("/"))


def _weights(site_dir, files, manifest):
    """{one network, all networks} as (bytes, gzip bytes)."""
    models = {os.path.join(site_dir, entry["model"]) for entry in manifest["styles"]}
    loaded = set(files)
    every = loaded | models
    result = {}
    for key, paths in (("one_network", loaded), ("all_networks", every)):
        sizes = [os.path.getsize(path) for path in paths]
        packed = [len(gzip.compress(open(path, "rb").read(), 6)) for path in paths]
        result[key] = {"bytes": sum(sizes), "gzip_bytes": sum(packed), "files": len(paths)}
    return result


def _python_latency(model_path, photo, repeats, threads):
    from dstyle_tf.benchmark import timing
    from dstyle_tf.stylization.stylizers import TFLiteStylizer

    stylizer = TFLiteStylizer(model_path, num_threads=threads)
    return timing.measure(lambda: stylizer(photo), repeats, warmup=1)["median_ms"]


def measure_page(browser, site_dir, isolated, loads, repeats):
    """The page's numbers served with or without cross-origin isolation."""
    import json

    with open(os.path.join(site_dir, MANIFEST), encoding="utf-8") as f:
        manifest = json.load(f)
    photo = pretrained.reference_image(manifest["size"])
    with browser_lib.served(site_dir, isolated) as address:
        firsts, fetched = [], []
        for _ in range(loads):
            first, fetched = first_result(browser, address, png_bytes(photo))
            firsts.append(first)
        times, network_times, backend = _per_image(browser, address, photo, repeats)
    files = sorted({_site_file(site_dir, address, url) for url in fetched})
    return {
        "isolated": isolated,
        "backend": backend,
        "first_result_ms": statistics.median(firsts),
        "first_result_samples_ms": [round(value) for value in firsts],
        "per_image_ms": statistics.median(times),
        "per_image_samples_ms": [round(value, 1) for value in times],
        "network_ms": statistics.median(network_times),
        "weight": _weights(site_dir, [path for path in files if os.path.isfile(path)], manifest),
        "fetched": [os.path.relpath(path, site_dir) for path in files],
    }


def run(site_dir, loads=3, repeats=7):
    """Measures the site (see the module docstring); returns a JSON-ready dict."""
    import json

    from dstyle_tf.benchmark import machine

    with open(os.path.join(site_dir, MANIFEST), encoding="utf-8") as f:
        manifest = json.load(f)
    size = manifest["size"]
    model = os.path.join(site_dir, manifest["styles"][0]["model"])
    photo = pretrained.reference_image(size)
    report = {
        "size": size,
        "style": manifest["styles"][0]["name"],
        "cpu_model": machine.cpu_model(),
        "cpu_isa": machine.isa_summary(machine.cpu_isa()),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "load_average_before": machine.load_average(),
        "runtime": manifest["runtime"],
        "started": time.strftime("%Y-%m-%d %H:%M"),
    }
    with browser_lib.chromium() as browser:
        report["chromium"] = browser.version
        report["pages"] = [measure_page(browser, site_dir, isolated, loads, repeats)
                           for isolated in (True, False)]
    threads = {int(page["backend"].split("(")[1].split()[0]) for page in report["pages"]
               if page["backend"] and page["backend"].startswith("wasm (")}
    report["python_tflite_ms"] = {
        str(count): _python_latency(model, photo, repeats, count) for count in sorted(threads)}
    report["python_tflite_ms"]["default"] = _python_latency(model, photo, repeats, None)
    report["load_average_after"] = machine.load_average()
    return report


def _threads(count):
    if count == "default":
        return "the runtime's default threads"
    return f"{count} thread{'' if count == '1' else 's'}"


def format_report(report):
    """The report as lines of text."""
    mb = 1e6
    lines = [
        f"Web page benchmark, {report['size']}² {report['style']}, {report['started']}",
        f"CPU: {report['cpu_model']} ({report['usable_cpus']} usable); {report['cpu_isa']}",
        f"Chromium {report['chromium']} headless; "
        + ", ".join(f"{name} {version}" for name, version in report["runtime"].items()),
        f"load average before {report['load_average_before']}, after {report['load_average_after']}",
        "",
        f"{'page':<34} {'backend':<18} {'first result':>13} {'per image':>10} {'network':>8}",
    ]
    for page in report["pages"]:
        label = "isolated (python -m dstyle_tf.web)" if page["isolated"] else "plain static host"
        lines.append(f"{label:<34} {page['backend']:<18} {page['first_result_ms'] / 1000:>11.2f} s "
                     f"{page['per_image_ms']:>7.0f} ms {page['network_ms']:>5.0f} ms")
    python = ", ".join(f"{_threads(threads)} {ms:.0f} ms"
                       for threads, ms in report["python_tflite_ms"].items())
    lines.append(f"Python TFLite (ai-edge-litert), same file and photo: {python}")
    weight = report["pages"][0]["weight"]
    for key, label in (("one_network", "one network"), ("all_networks", "all networks")):
        entry = weight[key]
        lines.append(f"page weight with {label}: {entry['bytes'] / mb:.1f} MB "
                     f"({entry['gzip_bytes'] / mb:.1f} MB gzip), {entry['files']} files")
    return lines
