"""Stylise in the browser: a static page that runs the shipped networks with
LiteRT.js (WebAssembly, or WebGPU where the browser has it); nothing is sent
to a server.

    python -m dstyle_tf.web                  # build the site and serve it on 127.0.0.1:8000
    python -m dstyle_tf.web --out=site/      # write the static site for any static host

One job per module: `runtime` (LiteRT.js from npm, pinned), `models` (the
float32 TFLite files, built once into the cache), `site` (the folder),
`server` (the local HTTP server), `browser` (headless Chromium for the
benchmark, the screenshot and the tests), `benchmark` (time to first
result, per-image latency, page weight). The page itself is `static/`.
"""

from dstyle_tf.web.site import build_site  # noqa: F401  (public API)
