"""Writes that are never half done: a temporary file, then a rename.

A crash or `kill -9` leaves either the old file or the new one, never a
truncated mix (the rename is atomic on POSIX file systems).
"""

import json
import os


def write_text(path, text):
    """Writes `text` to `path` atomically."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path, payload):
    """Writes `payload` as indented JSON atomically."""
    write_text(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def save_keras(model, path):
    """Saves a Keras model to `path` (.keras) atomically."""
    tmp = f"{path}.tmp-{os.getpid()}.keras"
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
