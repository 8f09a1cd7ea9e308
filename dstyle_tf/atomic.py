"""Writes that are never half done: a temporary sibling, then a rename.

A crash or `kill -9` leaves either the old file (or directory) or the new
one, never a truncated mix (the rename is atomic on POSIX file systems).
Temporary names start with `.tmp-`, so they are hidden and never look like a
TF Serving version number.

`replacing(path)` is the one mechanism for files; `write_text`, `write_json`,
`save_keras` and `image_io.save_image` are built on it. `directory(path)` is
its counterpart for a whole directory (an exported model version).
"""

import contextlib
import json
import os
import shutil
import tempfile


def _umask_permissions(path, mode):
    """Gives `path` the permissions a plain `open`/`mkdir` would have.

    `mkstemp`/`mkdtemp` make private (0600/0700) entries; a server or a user
    running as someone else must be able to read the result.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


@contextlib.contextmanager
def replacing(path, suffix=""):
    """Yields a temporary file path beside `path` that replaces it on success.

    Write the new content to the yielded path. If the body raises, `path` is
    untouched and the temporary file is removed.

    Args:
        path: the file to (re)write.
        suffix: ending of the temporary name, for writers that choose the
            format from it (`.keras`, `.png`).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    os.close(descriptor)
    _umask_permissions(temporary, 0o666)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_text(path, text):
    """Writes `text` to `path` atomically."""
    with replacing(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as f:
            f.write(text)


def write_json(path, payload):
    """Writes `payload` as indented JSON atomically."""
    write_text(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def save_keras(model, path):
    """Saves a Keras model to `path` (.keras) atomically."""
    with replacing(path, suffix=".keras") as temporary:
        model.save(temporary)


@contextlib.contextmanager
def directory(final_path, overwrite=False):
    """Yields a temporary sibling directory that becomes `final_path` on success.

    The temporary name (`.tmp-<name>-<random>`) is not a number, so TF Serving
    never loads it. If the body raises (or the process dies), `final_path` is
    untouched: no half-written version ever appears. With `overwrite`, an
    existing `final_path` is moved aside and replaced only once the new one is
    complete.

    Raises:
        FileExistsError: if `final_path` exists and `overwrite` is False.
    """
    final_path = os.path.abspath(os.fspath(final_path))
    parent, name = os.path.split(final_path)
    if os.path.exists(final_path) and not overwrite:
        raise FileExistsError(
            f"{final_path} already exists; choose another version or overwrite."
        )
    os.makedirs(parent, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=parent)
    _umask_permissions(temporary, 0o777)
    try:
        yield temporary
        if os.path.exists(final_path):
            if not overwrite:
                raise FileExistsError(f"{final_path} appeared while exporting.")
            old = tempfile.mkdtemp(prefix=f".old-{name}-", dir=parent)
            os.rmdir(old)
            os.rename(final_path, old)
            os.rename(temporary, final_path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            # Fails (rather than merging) if another writer won the race.
            os.rename(temporary, final_path)
    finally:
        if os.path.exists(temporary):
            shutil.rmtree(temporary, ignore_errors=True)
