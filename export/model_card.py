"""Model card: a JSON record of what an export contains and how well it matches.

Written as `<version>/model_card.json`. Fields that the training run did not
leave behind (`config.json`, `final_losses.json` in the workdir) are null.
"""

import datetime
import json
import math
import os

MODEL_CARD_FILENAME = "model_card.json"
CONFIG_FILENAME = "config.json"
LOSSES_FILENAME = "final_losses.json"


def _read_json(path):
    """The parsed file, or None if it is absent or not valid JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_training_record(workdir):
    """(config dict or None, final losses dict or None) from a training workdir."""
    if workdir is None:
        return None, None
    return (
        _read_json(os.path.join(workdir, CONFIG_FILENAME)),
        _read_json(os.path.join(workdir, LOSSES_FILENAME)),
    )


def style_from_config(config):
    """(style name, style image) from a training config, each possibly None."""
    style = (config or {}).get("style") or {}
    if not isinstance(style, dict):
        return None, None
    return style.get("name"), style.get("image")


def _json_number(value):
    # JSON has no inf/nan; a perfect PSNR is written as a string.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _clean(record):
    if isinstance(record, dict):
        return {key: _clean(value) for key, value in record.items()}
    if isinstance(record, (list, tuple)):
        return [_clean(value) for value in record]
    return _json_number(record)


def build_model_card(
    style,
    version,
    model_path,
    architecture,
    training_config,
    final_losses,
    saved_model=None,
    tflite=None,
    verification_images=None,
    styles=None,
):
    """Assembles the model card dict (see module docstring); `styles` are
    the network's style names in index order (default `[style]`)."""
    _, style_image = style_from_config(training_config)
    return _clean(
        {
            "model_card_version": 1,
            "style": {"name": style, "image": style_image},
            "styles": list(styles or [style]),
            "version": version,
            "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"
            ),
            "source_model": os.path.abspath(model_path),
            "architecture": architecture,
            "training_config": training_config,
            "final_losses": final_losses,
            "verification_images": verification_images,
            "saved_model": saved_model,
            "tflite": tflite or [],
        }
    )


def write_model_card(directory, card):
    """Writes `card` to `<directory>/model_card.json`; returns the path."""
    path = os.path.join(directory, MODEL_CARD_FILENAME)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(card, f, indent=2, sort_keys=False)
        f.write("\n")
    return path
