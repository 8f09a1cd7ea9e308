"""Headless Chromium driven by Playwright, for the benchmark, the screenshot
and the tests.

Playwright (PyPI `playwright`) cannot download its own browsers here, so it
drives the system's Chromium (Debian: `apt-get install chromium`), found on
the PATH or named by $DSTYLE_TF_CHROMIUM.
"""

import contextlib
import os
import shutil

from dstyle_tf.errors import UserError
from dstyle_tf.web import server as server_lib

CHROMIUM_VARIABLE = "DSTYLE_TF_CHROMIUM"
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# --use-fake-* give the camera a generated picture without a permission prompt.
_ARGUMENTS = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")


class BrowserUnavailable(UserError):
    """No headless browser can be started here (the message says why)."""


def chromium_path():
    """The Chromium executable, or None."""
    named = os.environ.get(CHROMIUM_VARIABLE)
    if named:
        return named if os.access(named, os.X_OK) else None
    return next((path for path in map(shutil.which, _NAMES) if path), None)


def unavailable_reason():
    """Why a headless browser cannot run here, or None if it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright, or the [test] extra)."
    if not chromium_path():
        return (f"no Chromium found ({', '.join(_NAMES)} on the PATH, or ${CHROMIUM_VARIABLE}): "
                "apt-get install chromium.")
    return None


@contextlib.contextmanager
def chromium():
    """Yields a headless Chromium (a Playwright `Browser`).

    Raises:
        BrowserUnavailable: no Playwright or no Chromium (with the reason).
    """
    reason = unavailable_reason()
    if reason:
        raise BrowserUnavailable(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=list(_ARGUMENTS))
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def served(site_dir, isolated=True):
    """Serves a built site on a free local port; yields its address."""
    server = server_lib.make_server(site_dir, isolated=isolated)
    server_lib.serve_in_background(server)
    try:
        yield server_lib.url(server)
    finally:
        server.shutdown()
        server.server_close()


def open_page(browser, address, viewport=(1100, 900)):
    """A new page of `browser` showing the site at `address`, once the page
    has read its site.json (`window.dstyle.ready`)."""
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    page.goto(address)
    page.wait_for_function("window.dstyle !== undefined")
    page.evaluate("window.dstyle.ready")
    return page


def settle(page, action, timeout_ms=120_000):
    """Calls `action()` (choosing a photo, changing a control) and waits until
    the page has shown a result or a message after it; returns the page's
    state then: "done" or "error"."""
    before = page.evaluate("window.dstyle.events")
    action()
    page.wait_for_function(f"window.dstyle.events > {before}", timeout=timeout_ms)
    return page.evaluate("document.body.dataset.state")
