"""The page's LiteRT.js runtime: installed from npm at the pinned versions,
once, into the user's cache, and copied into a site.

`npm/package.json` and `npm/package-lock.json` beside this module pin
`@litertjs/core` and `@litertjs/wasm-utils` exactly (the lock file also
records their integrity hashes); `npm ci` installs them into
`<cache>/web/litertjs-<hash of the lock file>/`, so another pin installs
beside the old one. The site gets the two ES modules and three of the
runtime's four WebAssembly builds (relaxed SIMD, plain SIMD for browsers
without relaxed SIMD, and threaded; not the JSPI build, which only WebGPU
partitioning and WebNN need), with the Apache-2.0 licence and a notice.
"""

import hashlib
import json
import os
import shutil
import subprocess

from dstyle_tf import atomic
from dstyle_tf.cache import cache_dir
from dstyle_tf.errors import UserError

NPM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npm")
LICENSE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "licenses", "Apache-2.0.txt")
INSTALL_COMMAND = "python -m dstyle_tf.web --install_runtime"
REPOSITORY = "https://github.com/google-ai-edge/LiteRT (litert/js)"
# Site path (under vendor/litertjs/) -> path under node_modules/.
_WASM_BUILDS = ("litert_wasm_internal", "litert_wasm_compat_internal",
                "litert_wasm_threaded_internal")
RUNTIME_FILES = {
    "core.js": "@litertjs/core/dist/index.js",
    "wasm-utils.js": "@litertjs/wasm-utils/dist/index.js",
    **{f"wasm/{build}.{ext}": f"@litertjs/core/wasm/{build}.{ext}"
       for build in _WASM_BUILDS for ext in ("js", "wasm")},
}
VENDOR_DIR = os.path.join("vendor", "litertjs")


class RuntimeMissingError(UserError):
    """The LiteRT.js runtime is not installed and cannot be installed here."""


def pinned_versions():
    """{npm package: exact version} of the runtime (from npm/package.json)."""
    with open(os.path.join(NPM_DIR, "package.json"), encoding="utf-8") as f:
        return dict(json.load(f)["dependencies"])


def install_dir():
    """Where the pinned runtime is (or will be) installed in the cache."""
    with open(os.path.join(NPM_DIR, "package-lock.json"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    return cache_dir("web", f"litertjs-{digest}")


def installed():
    """The install folder if the pinned runtime is complete there, else None."""
    folder = install_dir()
    modules = os.path.join(folder, "node_modules")
    for package, version in pinned_versions().items():
        try:
            with open(os.path.join(modules, package, "package.json"), encoding="utf-8") as f:
                if json.load(f).get("version") != version:
                    return None
        except (OSError, ValueError):
            return None
    if not all(os.path.isfile(os.path.join(modules, path)) for path in RUNTIME_FILES.values()):
        return None
    return folder


def require():
    """The install folder of the pinned runtime.

    Raises:
        RuntimeMissingError: it is not installed (naming the command that
            installs it).
    """
    folder = installed()
    if not folder:
        raise RuntimeMissingError(
            f"the page's LiteRT.js runtime is not installed: run `{INSTALL_COMMAND}` "
            "(needs npm; the web command also installs it itself).")
    return folder


def install(npm=None):
    """Installs the pinned runtime with `npm ci` unless it is there already.

    Args:
        npm: the npm executable (default: `npm` on the PATH).

    Returns:
        The install folder.

    Raises:
        RuntimeMissingError: npm is missing or `npm ci` failed (one line).
    """
    folder = installed()
    if folder:
        return folder
    npm = npm or shutil.which("npm")
    versions = ", ".join(f"{name} {version}" for name, version in pinned_versions().items())
    if not npm:
        raise RuntimeMissingError(
            f"npm is not installed: the page's runtime ({versions}) installs with npm "
            "(apt-get install npm, or Node.js from nodejs.org), then run again.")
    folder = install_dir()
    print(f"Installing {versions} with npm ci into {folder} (once) ...", flush=True)
    with atomic.directory(folder, overwrite=True) as scratch:
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(os.path.join(NPM_DIR, name), os.path.join(scratch, name))
        try:
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                cwd=scratch, capture_output=True, text=True, check=False)
        except OSError as e:
            raise RuntimeMissingError(f"cannot run {npm}: {e}") from None
        if result.returncode != 0:
            lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
            reason = lines[-1] if lines else "no output"
            raise RuntimeMissingError(
                f"npm ci of {versions} failed (exit {result.returncode}): {reason}")
    if not installed():
        raise RuntimeMissingError(f"npm ci finished but {folder} lacks the runtime's files.")
    return folder


def copy_into(site_dir, folder=None):
    """Copies the runtime's files, its licence and a notice into
    `<site_dir>/vendor/litertjs/`.

    Args:
        site_dir: the site being built.
        folder: the install folder (default: `require()`).

    Raises:
        RuntimeMissingError: the runtime is not installed (with the command
            that installs it).
    """
    folder = folder or require()
    vendor = os.path.join(site_dir, VENDOR_DIR)
    for site_path, module_path in RUNTIME_FILES.items():
        target = os.path.join(vendor, site_path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(folder, "node_modules", module_path), target)
    shutil.copyfile(LICENSE, os.path.join(vendor, "LICENSE"))
    versions = "\n".join(f"  {name} {version} (Apache-2.0)"
                         for name, version in pinned_versions().items())
    atomic.write_text(os.path.join(vendor, "NOTICE"),
                      f"LiteRT.js, the runtime this page runs the networks with:\n{versions}\n"
                      f"Source: {REPOSITORY}. Copyright 2025 Google LLC; licensed under the "
                      "Apache License 2.0 (LICENSE beside this file). Unmodified.\n")
    return vendor
