"""A local HTTP server for a built site (static files only; the page does
all the work in the browser).

It sends the two headers that make the page cross-origin isolated
(`Cross-Origin-Opener-Policy: same-origin`, `Cross-Origin-Embedder-Policy:
require-corp`), which browsers require for WebAssembly threads: the page
then runs LiteRT.js's threaded build. A static host without them serves a
page that runs single-threaded.
"""

import functools
import http.server
import threading

from dstyle_tf.errors import UserError

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}
HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


class ServerError(UserError):
    """The server cannot listen where asked."""


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves one folder with the isolation headers and exact MIME types."""

    response_headers = {**ISOLATION_HEADERS, **HEADERS}

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
        ".tflite": "application/octet-stream",
    }

    def end_headers(self):
        for name, value in self.response_headers.items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass  # a page load is dozens of requests; errors reach the page


class PlainSiteHandler(SiteHandler):
    """Without the isolation headers, as most static hosts serve a site."""

    response_headers = HEADERS


def make_server(site_dir, host="127.0.0.1", port=0, isolated=True):
    """A `ThreadingHTTPServer` for `site_dir`, listening (not yet serving).

    Args:
        site_dir: a built site (`build_site`).
        host: the address to listen on (127.0.0.1: this machine only).
        port: the port; 0 picks a free one (`server.server_address[1]`).
        isolated: send the cross-origin isolation headers (threads).

    Raises:
        ServerError: the address is taken, not this machine's, or needs
            privileges (one line).
    """
    handler = functools.partial(SiteHandler if isolated else PlainSiteHandler,
                                directory=str(site_dir))
    try:
        return http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise ServerError(f"cannot listen on {host}:{port}: {e.strerror or e}.") from None


def url(server):
    """The page's address on a server from `make_server`."""
    host, port = server.server_address[:2]
    host = "localhost" if host in ("", "0.0.0.0", "::") else host
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def serve_in_background(server):
    """Serves `server` on a daemon thread; returns the thread (stop with
    `server.shutdown()`)."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread
