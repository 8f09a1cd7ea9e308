r"""Stylise in the browser: serve a page that runs the shipped networks with
LiteRT.js, or write it as a static site (`dstyle_tf.web`).

    python -m dstyle_tf.web                      # http://127.0.0.1:8000/ (Ctrl-C stops)
    python -m dstyle_tf.web --port=8080 --host=0.0.0.0
    python -m dstyle_tf.web --out=site/          # the static site, for any static host
    python -m dstyle_tf.web --install_runtime    # only `npm ci` of the pinned LiteRT.js
    python -m dstyle_tf.web --benchmark          # headless Chromium against Python TFLite
    python -m dstyle_tf.web --screenshot=docs/images/web_page.png

The first run installs LiteRT.js (`npm ci`, pinned in dstyle_tf/web/npm/)
and converts the shipped networks to float32 TFLite at --size (both kept in
~/.cache/dstyle_tf/web/); later runs start in seconds. Nothing runs on the
server: the photo never leaves the browser.
"""

import os
import signal
import sys
import tempfile

from absl import app
from absl import flags

from dstyle_tf import cli


def define_flags():
    from dstyle_tf.web.site import DEFAULT_SIZE

    flags.DEFINE_string("host", "127.0.0.1",
                        "Address to serve on (127.0.0.1: this machine only; 0.0.0.0: the network).")
    flags.DEFINE_integer("port", 8000, "Port to serve on (0: any free port).",
                         lower_bound=0, upper_bound=65535)
    flags.DEFINE_string("out", None, "Write the static site into this folder (new, empty or an "
                        "earlier site) and exit, instead of serving it.")
    flags.DEFINE_integer("size", DEFAULT_SIZE, "Square input size of the networks; photos are "
                         "downscaled to it (LiteRT.js runs fixed shapes only).",
                         lower_bound=16, upper_bound=2048)
    flags.DEFINE_list("styles", [], "Shipped styles to put on the page (default: all).")
    flags.DEFINE_bool("install_runtime", False,
                      "Only install the pinned LiteRT.js runtime with npm ci, then exit.")
    flags.DEFINE_bool("benchmark", False, "Measure the page in headless Chromium (time to first "
                      "result, per-image latency, page weight) next to Python's TFLite, then exit.")
    flags.DEFINE_integer("repeats", 7, "--benchmark: timed images per page.", lower_bound=1)
    flags.DEFINE_integer("loads", 3, "--benchmark: fresh page loads timed to the first result.",
                         lower_bound=1)
    flags.DEFINE_string("report", None, "--benchmark: also write the numbers as JSON here.")
    flags.DEFINE_string("screenshot", None, "Save a screenshot (PNG) of the page with a result "
                        "here, then exit.")
    flags.DEFINE_string("photo", "astronaut", "--screenshot: a photo file, or the name of a "
                        "scikit-image sample photo.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    from dstyle_tf.web import runtime
    from dstyle_tf.web.site import build_site

    values = flags.FLAGS
    folder = cli.call(runtime.install)
    if values.install_runtime:
        print(f"LiteRT.js runtime installed in {folder}")
        return
    styles = values.styles or None
    if values.out:
        manifest = cli.call(build_site, values.out, values.size, styles)
        print(f"Wrote the site ({len(manifest['styles'])} styles, {values.size}² networks) to "
              f"{os.path.abspath(values.out)}: serve it with any static web server.")
        return
    if values.benchmark or values.screenshot:
        with tempfile.TemporaryDirectory(prefix="dstyle_tf_web-") as scratch:
            site = os.path.join(scratch, "site")
            cli.call(build_site, site, values.size, styles)
            _measure(site, values)
        return
    _serve(values, styles)


def _measure(site, values):
    from dstyle_tf import atomic
    from dstyle_tf.web import benchmark
    from dstyle_tf.web import screenshot

    if values.screenshot:
        style = values.styles[0] if values.styles else None
        path = cli.call(screenshot.take, site, values.screenshot, values.photo, style)
        print(f"Wrote {path} ({os.path.getsize(path) / 1e3:.0f} KB)")
    if values.benchmark:
        report = cli.call(benchmark.run, site, values.loads, values.repeats)
        print("\n".join(benchmark.format_report(report)))
        if values.report:
            atomic.write_json(values.report, report)


def _serve(values, styles):
    from dstyle_tf.web import server as server_lib
    from dstyle_tf.web.site import build_site

    # A plain `kill` stops the server like Ctrl-C: the temporary site is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with tempfile.TemporaryDirectory(prefix="dstyle_tf_web-") as scratch:
        site = os.path.join(scratch, "site")
        server = cli.call(server_lib.make_server, site, values.host, values.port)
        try:
            cli.call(build_site, site, values.size, styles)
            print(f"Serving the page at {server_lib.url(server)} (Ctrl-C stops). It runs the "
                  "networks in the browser: photos are never uploaded.", flush=True)
            server.serve_forever()
        except KeyboardInterrupt:
            print("Stopped.")
        finally:
            server.server_close()


def run():
    """Entry point of `python -m dstyle_tf.web` and its console script."""
    cli.run_command(sys.modules[__name__])
