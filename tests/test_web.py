"""`python -m dstyle_tf.web` without a browser: the site builder, its cache of
TFLite files, the runtime's installation, the server and the command's errors.
(The page itself, in headless Chromium: test_web_browser.py.)"""

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import urllib.request

import numpy as np
import pytest
from PIL import Image

from dstyle_tf import pretrained
from dstyle_tf.stylization.stylizers import StyleSetStylizer
from dstyle_tf.stylization.stylizers import TFLiteStylizer
from dstyle_tf.web import browser
from dstyle_tf.web import models
from dstyle_tf.web import runtime
from dstyle_tf.web import server as server_lib
from dstyle_tf.web import site as site_lib
from export import exporter
from export import tflite

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = 32
STYLES = ("starry_night", "wave")


def fake_runtime():
    """Installs stand-ins of the pinned runtime's files where `npm ci` puts them
    (in $XDG_CACHE_HOME); returns the install folder."""
    folder = runtime.install_dir()
    modules = os.path.join(folder, "node_modules")
    for package, version in runtime.pinned_versions().items():
        os.makedirs(os.path.join(modules, package), exist_ok=True)
        with open(os.path.join(modules, package, "package.json"), "w", encoding="utf-8") as f:
            json.dump({"name": package, "version": version}, f)
    for path in runtime.RUNTIME_FILES.values():
        os.makedirs(os.path.dirname(os.path.join(modules, path)), exist_ok=True)
        with open(os.path.join(modules, path), "w", encoding="utf-8") as f:
            f.write(f"// {path}\n")
    return folder


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def tiny_networks(folder, tiny_model_path):
    """Two tiny networks standing in for the shipped ones, in `folder`."""
    folder.mkdir()
    for style in STYLES:
        shutil.copyfile(tiny_model_path, folder / f"{style}.keras")
        (folder / f"{style}.provenance.json").write_text("{}")
    return folder


@pytest.fixture
def networks(tmp_path, monkeypatch, tiny_model_path):
    folder = tiny_networks(tmp_path / "networks", tiny_model_path)
    monkeypatch.setenv(pretrained.NETWORKS_DIR_VARIABLE, str(folder))
    return folder


def test_site_holds_page_networks_paintings_and_runtime(cache, networks, tmp_path):
    installed = fake_runtime()
    out = tmp_path / "site"
    manifest = site_lib.build_site(out, size=SIZE)
    for name in ("index.html", "app.js", "engine.js", "images.js", "pixels.js", "style.css"):
        assert (out / name).read_bytes() == open(os.path.join(site_lib.STATIC_DIR, name), "rb").read()
    assert json.loads((out / "site.json").read_text()) == manifest
    assert manifest["size"] == SIZE and manifest["max_pixels"] == site_lib.MAX_PIXELS
    assert manifest["runtime"] == {"@litertjs/core": "2.5.3", "@litertjs/wasm-utils": "2.5.3"}
    assert [entry["name"] for entry in manifest["styles"]] == list(STYLES)
    photo = pretrained.reference_image(SIZE)
    for entry in manifest["styles"]:
        assert entry["network_sha256"] == pretrained.file_sha256(networks / f"{entry['name']}.keras")
        assert entry["painting"].startswith(("Vincent van Gogh", "Katsushika Hokusai"))
        stylizer = TFLiteStylizer(out / entry["model"])
        assert stylizer.fixed_size == (SIZE, SIZE)
        assert os.path.getsize(out / entry["model"]) == entry["model_bytes"]
        keras_output = pretrained.stylize_image(photo, model=networks / f"{entry['name']}.keras")
        assert tflite.psnr(keras_output, stylizer(photo)) > 60
        assert max(Image.open(out / entry["thumbnail"]).size) == site_lib.THUMBNAIL_SIDE
    # Python's reference for the page: a style set pads a smaller photo for each
    # fixed-size file, as the file alone does.
    files = {entry["name"]: str(out / entry["model"]) for entry in manifest["styles"]}
    small = photo[:20, :27]
    blend = StyleSetStylizer(files)(small, style_weights=np.array([0.25, 0.75], np.float32))
    alone = [TFLiteStylizer(path)(small) for path in files.values()]
    np.testing.assert_allclose(blend, 0.25 * alone[0] + 0.75 * alone[1], atol=1e-4)
    vendor = out / runtime.VENDOR_DIR
    for site_path, module_path in runtime.RUNTIME_FILES.items():
        assert (vendor / site_path).read_text() == f"// {module_path}\n"
    assert "Apache License" in (vendor / "LICENSE").read_text()
    assert "@litertjs/core 2.5.3" in (vendor / "NOTICE").read_text()
    assert not (vendor / "wasm" / "litert_wasm_jspi_internal.wasm").exists()
    assert os.path.isdir(installed)


def test_networks_convert_once_per_network_and_size(cache, networks, monkeypatch):
    conversions = []
    real_convert = tflite.convert
    monkeypatch.setattr(tflite, "convert", lambda *a, **k: conversions.append(a) or real_convert(*a, **k))
    network = str(networks / "wave.keras")
    first = models.tflite_file(network, SIZE)
    modified = os.stat(first).st_mtime_ns
    assert models.tflite_file(network, SIZE) == first and len(conversions) == 1
    assert os.stat(first).st_mtime_ns == modified
    assert pretrained.file_sha256(network)[:16] in os.path.basename(first)
    other_size = models.tflite_file(network, SIZE + 8)
    assert other_size != first and len(conversions) == 2
    # Another network under the same name (a rebuilt one) is a new file.
    from dstyle_tf.models import TransformNet

    rebuilt = TransformNet(filters=4, num_residual_blocks=1)
    rebuilt.build()
    rebuilt.save(network)
    assert models.tflite_file(network, SIZE) not in (first, other_size) and len(conversions) == 3


def test_a_file_that_fails_its_check_is_not_kept(cache, networks, monkeypatch):
    monkeypatch.setattr(tflite, "verify", lambda *a, **k: {"psnr_db_worst": 12.5})
    with pytest.raises(exporter.VerificationError, match=r"12.5 dB .* nothing was kept"):
        models.tflite_file(str(networks / "wave.keras"), SIZE)
    assert os.listdir(cache / "dstyle_tf" / "web" / "models") == []


def test_unknown_styles_are_named_with_the_shipped_ones(cache, networks, tmp_path):
    fake_runtime()
    with pytest.raises(pretrained.PretrainedError, match="monet; the shipped styles are starry_night, wave"):
        site_lib.build_site(tmp_path / "site", size=SIZE, styles=["monet"])


def test_out_replaces_an_earlier_site_and_nothing_else(cache, networks, tmp_path):
    fake_runtime()
    out = tmp_path / "site"
    site_lib.build_site(out, size=SIZE, styles=["wave"])
    (out / "stale.txt").write_text("from an earlier build")
    site_lib.build_site(out, size=SIZE, styles=["starry_night"])
    assert not (out / "stale.txt").exists()
    assert sorted(os.listdir(out / "models")) == ["starry_night.tflite"]
    other = tmp_path / "photos"
    other.mkdir()
    (other / "holiday.jpg").write_text("not ours")
    with pytest.raises(site_lib.SiteError, match="is not a site written by this command"):
        site_lib.build_site(other, size=SIZE)
    assert os.listdir(other) == ["holiday.jpg"]


def test_a_missing_runtime_names_the_command_that_installs_it(cache, networks, tmp_path):
    with pytest.raises(runtime.RuntimeMissingError, match="python -m dstyle_tf.web --install_runtime"):
        site_lib.build_site(tmp_path / "site", size=SIZE)
    assert not (tmp_path / "site").exists()


def test_install_without_npm_says_so(cache, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on it
    with pytest.raises(runtime.RuntimeMissingError, match="npm is not installed: .*@litertjs/core 2.5.3"):
        runtime.install()


def _fake_npm(tmp_path, script):
    npm = tmp_path / "npm"
    npm.write_text(f"#!/bin/sh\n{script}\n")
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    return str(npm)


def test_install_reports_a_failed_npm_ci_in_one_line_and_keeps_nothing(cache, tmp_path):
    npm = _fake_npm(tmp_path, 'echo "npm error code ENOTFOUND" >&2; echo "npm error network: '
                              'request to registry.npmjs.org failed" >&2; exit 1')
    with pytest.raises(runtime.RuntimeMissingError,
                       match=r"npm ci of .* failed \(exit 1\): npm error network: request"):
        runtime.install(npm=npm)
    assert not os.path.exists(runtime.install_dir())
    assert [name for name in os.listdir(os.path.dirname(runtime.install_dir()))
            if name.startswith(".tmp-")] == []


def test_install_runs_npm_ci_on_the_pinned_lock_file(cache, tmp_path):
    # A stand-in npm: checks its arguments and the lock file, then writes the files.
    lines = ['[ "$1" = ci ] || exit 4',
             f'cmp -s package-lock.json "{runtime.NPM_DIR}/package-lock.json" || exit 3']
    for package, version in runtime.pinned_versions().items():
        lines.append(f"mkdir -p node_modules/{package} && "
                     f"echo '{{\"version\": \"{version}\"}}' > node_modules/{package}/package.json")
    for path in runtime.RUNTIME_FILES.values():
        lines.append(f"mkdir -p node_modules/{os.path.dirname(path)} && : > node_modules/{path}")
    folder = runtime.install(npm=_fake_npm(tmp_path, "\n".join(lines)))
    assert folder == runtime.install_dir() == runtime.installed()
    assert runtime.install(npm="/nonexistent/npm") == folder  # installed: npm not needed


def test_lock_file_pins_the_issue_versions_with_integrity_hashes():
    with open(os.path.join(runtime.NPM_DIR, "package-lock.json"), encoding="utf-8") as f:
        lock = json.load(f)["packages"]
    for package in ("@litertjs/core", "@litertjs/wasm-utils"):
        assert runtime.pinned_versions()[package] == "2.5.3"
        assert lock[f"node_modules/{package}"]["version"] == "2.5.3"
        assert lock[f"node_modules/{package}"]["integrity"].startswith("sha512-")


def test_browser_tests_say_why_they_cannot_run(monkeypatch, tmp_path):
    monkeypatch.setenv(browser.CHROMIUM_VARIABLE, str(tmp_path / "chromium"))  # not there
    reason = browser.unavailable_reason()
    assert reason.startswith(("no Chromium found", "Playwright is not installed"))
    with pytest.raises(browser.BrowserUnavailable, match=re.escape(reason)):
        with browser.chromium():
            pass


def test_server_sends_isolation_headers_and_wasm_types(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / "a.wasm").write_bytes(b"\0asm")
    (tmp_path / "m.js").write_text("export {}")
    for isolated in (True, False):
        server = server_lib.make_server(tmp_path, isolated=isolated)
        server_lib.serve_in_background(server)
        try:
            address = server_lib.url(server)
            assert address.startswith("http://127.0.0.1:")
            with urllib.request.urlopen(address) as response:
                assert response.read() == b"<!doctype html>"
                opener = response.headers.get("Cross-Origin-Opener-Policy")
                embedder = response.headers.get("Cross-Origin-Embedder-Policy")
                assert (opener, embedder) == (("same-origin", "require-corp") if isolated else (None, None))
            with urllib.request.urlopen(address + "a.wasm") as response:
                assert response.headers["Content-Type"] == "application/wasm"
            with urllib.request.urlopen(address + "m.js") as response:
                assert response.headers["Content-Type"] == "text/javascript"
        finally:
            server.shutdown()
            server.server_close()


def test_a_taken_port_is_one_clear_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(server_lib.ServerError, match=f"cannot listen on 127.0.0.1:{port}: "):
            server_lib.make_server(tmp_path, port=port)


# --- The command, in subprocesses started together ---------------------------


@pytest.fixture(scope="module")
def command_runs(tmp_path_factory, tiny_model_path):
    """Runs of `python -m dstyle_tf.web`, all started at once (each imports
    TensorFlow): {name: (CompletedProcess-like, folder)}."""
    root = tmp_path_factory.mktemp("web_cli")
    networks = tiny_networks(root / "networks", tiny_model_path)
    with_runtime = root / "with_runtime"
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3",
           pretrained.NETWORKS_DIR_VARIABLE: str(networks), "PATH": str(root)}  # no npm
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(with_runtime)
    try:
        fake_runtime()
    finally:
        if previous is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = previous
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    runs = {
        "no_npm": (root / "empty_cache", ["--out", str(root / "site_no_npm")]),
        "bad_port": (with_runtime, ["--port=70000"]),
        "taken_port": (with_runtime, [f"--port={port}"]),
        "out": (with_runtime, ["--out", str(root / "site"), f"--size={SIZE}"]),
    }
    processes = {
        name: subprocess.Popen([sys.executable, "-m", "dstyle_tf.web", *args], cwd=REPO,
                               env={**env, "XDG_CACHE_HOME": str(cache_home)}, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for name, (cache_home, args) in runs.items()
    }
    try:
        results = {name: (process, *process.communicate(timeout=300))
                   for name, process in processes.items()}
    finally:
        taken.close()
    return {name: (process.returncode, out, err, root) for name, (process, out, err) in results.items()}


def _errors(stderr):
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_command_without_npm_exits_2_with_one_line(command_runs):
    code, _, stderr, root = command_runs["no_npm"]
    assert code == 2, stderr[-2000:]
    assert _errors(stderr) == [
        "error: npm is not installed: the page's runtime (@litertjs/core 2.5.3, @litertjs/wasm-utils "
        "2.5.3) installs with npm (apt-get install npm, or Node.js from nodejs.org), then run again."]
    assert "Traceback" not in stderr
    assert not (root / "site_no_npm").exists()


def test_command_refuses_a_port_out_of_range(command_runs):
    code, _, stderr, _ = command_runs["bad_port"]
    assert code == 1 and "--port=70000" in stderr and "65535" in stderr
    assert "Traceback" not in stderr


def test_command_refuses_a_taken_port_in_one_line(command_runs):
    code, _, stderr, _ = command_runs["taken_port"]
    assert code == 2, stderr[-2000:]
    (line,) = _errors(stderr)
    assert line.startswith("error: cannot listen on 127.0.0.1:") and "Address already in use" in line
    assert "Traceback" not in stderr


def test_command_out_writes_the_static_site(command_runs):
    code, stdout, stderr, root = command_runs["out"]
    assert code == 0, stderr[-2000:]
    assert f"Wrote the site (2 styles, {SIZE}² networks)" in stdout
    manifest = json.loads((root / "site" / "site.json").read_text())
    assert [entry["name"] for entry in manifest["styles"]] == list(STYLES)
    assert TFLiteStylizer(root / "site" / "models" / "wave.tflite").fixed_size == (SIZE, SIZE)
    assert (root / "site" / "vendor" / "litertjs" / "wasm" / "litert_wasm_internal.wasm").is_file()
    assert np.isfinite(TFLiteStylizer(root / "site" / "models" / "wave.tflite")(
        pretrained.reference_image(SIZE))).all()
