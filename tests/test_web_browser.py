"""The page of `python -m dstyle_tf.web` in headless Chromium (Debian's,
driven by Playwright): it loads, stylises a generated photo with the shipped
networks exactly as Python's TFLite interpreter does (same files, same
padding, blends and strength), refuses bad files with a message and keeps
working. Skipped, with the reason, without Playwright, Chromium or the
LiteRT.js runtime (`python -m dstyle_tf.web --install_runtime`; CI installs
all three).

One browser and one page for the file; the networks take 128² inputs here.
"""

import base64
import contextlib
import io
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from dstyle_tf import image_io
from dstyle_tf import pretrained
from dstyle_tf.stylization import StyleSetStylizer
from dstyle_tf.stylization import choose_style_weights
from dstyle_tf.stylization import stylize_image
from dstyle_tf.web import browser
from dstyle_tf.web import runtime
from dstyle_tf.web.benchmark import choose_photo
from dstyle_tf.web.benchmark import first_result
from dstyle_tf.web.benchmark import png_bytes
from dstyle_tf.web.site import build_site
from export.tflite import psnr

SIZE = 128
# 97 rows: at --max-size 64 the height is 48.5, which Python rounds to 48.
PHOTO = pretrained.reference_image(SIZE)[:97]
PARITY_DB = 40.0


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    reason = browser.unavailable_reason()
    if reason:
        pytest.skip(f"no headless browser: {reason}")
    if not runtime.installed():
        pytest.skip("the LiteRT.js runtime is not installed: python -m dstyle_tf.web "
                    "--install_runtime (needs npm)")
    out = tmp_path_factory.mktemp("web") / "site"
    build_site(out, size=SIZE)  # the shipped networks; converted once into the user's cache
    return out


@pytest.fixture(scope="module")
def page(site):
    with contextlib.ExitStack() as stack:
        chromium = stack.enter_context(browser.chromium())
        address = stack.enter_context(browser.served(site))
        yield browser.open_page(chromium, address)


@pytest.fixture(scope="module")
def reference(site):
    """Python's TFLite interpreter on the site's own files, as one style set."""
    return StyleSetStylizer({style: str(site / "models" / f"{style}.tflite")
                             for style in pretrained.shipped_styles()})


def python_output(reference, photo, style_weights, strength=1.0):
    weights = choose_style_weights(reference.style_names, style_weights=style_weights)
    return stylize_image(photo, reference, style_weights=weights, strength=strength)


def last_result(page):
    """The page's last result: its photo (uint8) and output (float32) pixels."""
    last = page.evaluate("window.dstyle.last()")
    shape = (last["height"], last["width"], 3)
    last["photo"] = np.frombuffer(base64.b64decode(last["photo"]), np.uint8).reshape(shape)
    last["output"] = np.frombuffer(base64.b64decode(last["output"]), np.float32).reshape(shape)
    return last


def shown_result(page):
    """The result canvas's pixels (uint8 RGB)."""
    encoded = page.evaluate("""() => {
        const canvas = document.getElementById('result');
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let text = '';
        for (let i = 0; i < data.length; i += 0x8000) {
          text += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
        }
        return [canvas.width, canvas.height, btoa(text)];
    }""")
    width, height, data = encoded
    return np.frombuffer(base64.b64decode(data), np.uint8).reshape(height, width, 4)[..., :3]


def set_value(page, selector, value):
    """Sets a control as a user does (a `change` event follows)."""
    page.eval_on_selector(selector, "(element, value) => { element.value = value; "
                          "element.dispatchEvent(new Event('change')); }", str(value))


def choose(page, name, data):
    return browser.settle(page, lambda: choose_photo(page, name, data))


def huge_png(side):
    """A valid side × side black PNG of a few kilobytes (1 bit per pixel,
    rows of zeros compress ~1000×), written without decoding anything."""
    def chunk(kind, payload):
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload)))

    rows = (b"\0" * (1 + (side + 7) // 8)) * side
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def test_page_loads_with_the_shipped_styles_on_webassembly(page):
    styles = page.eval_on_selector_all("#style option", "options => options.map(o => o.value)")
    assert styles == list(pretrained.shipped_styles())
    assert "@litertjs/core 2.5.3" in page.text_content("#runtime")
    # The runtime and the first network load before any photo is chosen.
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Ready')",
                           timeout=60_000)
    assert page.evaluate("window.dstyle.loadMs")["starry_night/wasm"] > 0


def test_generated_photo_is_stylised_as_python_does(page, reference):
    assert choose(page, "generated.png", png_bytes(PHOTO)) == "done"
    result = last_result(page)
    np.testing.assert_array_equal(result["photo"], np.round(PHOTO))  # PNG decoded exactly
    expected = python_output(reference, PHOTO, "starry_night:1")
    assert psnr(expected, result["output"]) >= PARITY_DB
    assert psnr(np.round(expected), shown_result(page)) >= PARITY_DB
    assert re.fullmatch(r"wasm \(\d+ threads?\)", result["backend"])
    status = page.text_content("#status")
    assert status.startswith(f"Stylised {SIZE} × 97 px in ") and f"s on {result['backend']}" in status
    assert page.text_content("#backend-used") == result["backend"]


def test_another_style_and_a_blend_match_python(page, reference):
    choose(page, "generated.png", png_bytes(PHOTO))
    assert browser.settle(page, lambda: page.select_option("#style", "wave")) == "done"
    assert psnr(python_output(reference, PHOTO, "wave:1"), last_result(page)["output"]) >= PARITY_DB
    page.select_option("#blend", "the_scream")  # runs once more with the default 50 %
    set_value(page, "#blend-weight", 30)
    assert browser.settle(page, lambda: set_value(page, "#strength", 60)) == "done"
    result = last_result(page)
    assert result["styles"] == {"wave": pytest.approx(0.7), "the_scream": pytest.approx(0.3)}
    expected = python_output(reference, PHOTO, "wave:0.7,the_scream:0.3", strength=0.6)
    assert psnr(expected, result["output"]) >= PARITY_DB
    assert page.text_content("#result-caption") == "wave 70% + the_scream 30%, strength 60%"
    browser.settle(page, lambda: page.select_option("#blend", ""))
    browser.settle(page, lambda: set_value(page, "#strength", 100))
    browser.settle(page, lambda: page.select_option("#style", "starry_night"))


def test_max_size_downscales_like_python(page, reference):
    choose(page, "generated.png", png_bytes(PHOTO))
    assert browser.settle(page, lambda: page.select_option("#max-size", "64")) == "done"
    result = last_result(page)
    assert (result["width"], result["height"]) == image_io.scaled_size(SIZE, 97, 64) == (64, 48)
    photo = result["photo"].astype(np.float32)  # the browser's own downscaled photo
    assert psnr(python_output(reference, photo, "starry_night:1"), result["output"]) >= PARITY_DB
    browser.settle(page, lambda: page.select_option("#max-size", str(SIZE)))


def test_bad_files_get_a_message_and_the_page_keeps_working(page, reference):
    assert choose(page, "notes.png", b"shopping list: eggs, flour\n" * 20) == "error"
    assert page.text_content("#message") == (
        "notes.png is not an image this browser can read (JPEG, PNG, WebP, GIF, ...).")
    assert choose(page, "huge.png", huge_png(10_000)) == "error"
    assert page.text_content("#message") == (
        "huge.png is 10000 × 10000 pixels (100 megapixels); this page takes photos of up to "
        "50 megapixels: downscale it first.")
    assert page.is_visible("#message")
    assert choose(page, "generated.png", png_bytes(PHOTO)) == "done"
    assert not page.is_visible("#message")
    expected = python_output(reference, PHOTO, "starry_night:1")
    assert psnr(expected, last_result(page)["output"]) >= PARITY_DB


def test_webgpu_without_a_gpu_says_so_and_auto_runs_on_webassembly(page):
    assert page.evaluate("navigator.gpu === undefined || navigator.gpu.requestAdapter()"
                         ".then(adapter => adapter === null)")  # headless, no GPU here
    choose(page, "generated.png", png_bytes(PHOTO))
    assert browser.settle(page, lambda: page.select_option("#backend", "webgpu")) == "error"
    assert page.text_content("#message") == (
        "Error: WebGPU is not available in this browser: choose auto or WebAssembly.")
    assert browser.settle(page, lambda: page.select_option("#backend", "auto")) == "done"
    assert last_result(page)["backend"].startswith("wasm (")


def test_download_is_the_result_as_png(page):
    choose(page, "generated.png", png_bytes(PHOTO))
    page.wait_for_selector("#download:not([hidden])")
    assert page.get_attribute("#download", "download") == "generated_starry_night.png"
    encoded = page.evaluate("""async () => {
        const bytes = new Uint8Array(await (await fetch(document.getElementById('download').href))
                                     .arrayBuffer());
        let text = '';
        for (let i = 0; i < bytes.length; i += 0x8000) {
          text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
        }
        return btoa(text);
    }""")
    downloaded = np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))).convert("RGB"))
    np.testing.assert_array_equal(downloaded, shown_result(page))


def test_camera_photo_is_stylised(page):
    assert page.is_visible("#camera-start")
    page.click("#camera-start")
    page.wait_for_selector("#camera:not([hidden])")
    page.wait_for_function("document.getElementById('video').videoWidth > 0")
    assert browser.settle(page, lambda: page.click("#camera-take")) == "done"
    result = last_result(page)
    assert max(result["width"], result["height"]) == SIZE  # Chromium's fake camera, downscaled
    assert page.is_hidden("#camera")


def test_a_photo_chosen_before_the_page_is_ready_is_stylised(page):
    """A new visitor drops a photo in at once: before site.json (held back
    here), the runtime or any network has arrived."""
    context = page.context.browser.new_context()
    try:
        held = []
        context.route("**/site.json", lambda route: held.append(route))
        fresh = context.new_page()
        fresh.goto(page.url, wait_until="commit")
        fresh.wait_for_function("window.dstyle !== undefined")
        choose_photo(fresh, "generated.png", png_bytes(PHOTO))
        fresh.wait_for_timeout(100)
        assert fresh.evaluate("window.dstyle.events") == 0 and len(held) == 1
        held[0].continue_()
        fresh.wait_for_function("window.dstyle.events >= 1", timeout=30_000)
        assert fresh.evaluate("window.dstyle.results") == 1
    finally:
        context.close()


def test_a_fresh_page_fetches_one_webassembly_build_and_one_network(page):
    milliseconds, fetched = first_result(page.context.browser, page.url, png_bytes(PHOTO),
                                         timeout_ms=60_000)
    assert 0 < milliseconds < 60_000
    assert len([url for url in fetched if url.endswith(".wasm")]) == 1
    assert [url.rsplit("/", 1)[1] for url in fetched if url.endswith(".tflite")] == [
        "starry_night.tflite"]
