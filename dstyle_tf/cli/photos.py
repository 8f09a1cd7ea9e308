r"""Fills a folder with real photos that install offline (`dstyle_tf.photo_sets`).

    apt-get install mate-backgrounds plasma-workspace-wallpapers   # once
    python -m dstyle_tf.photos --out=runs/photos/train                # training set
    python -m dstyle_tf.photos --out=runs/photos/held_out --split=held_out
    python -m dstyle_tf.train --config=configs/demo.py --workdir=runs/demo \
        --config.data.source=folder --config.data.folder=runs/photos/train

Training: scikit-image's sample photos (less astronaut and chelsea) and 17
Debian photographs; held out: astronaut, chelsea and 6 Debian photographs.
"""

import sys

from absl import app
from absl import flags

from dstyle_tf import cli
from dstyle_tf.photo_sets import SPLITS


def define_flags():
    flags.DEFINE_string("out", None, "Folder to fill (created; existing files are kept).",
                        required=True)
    flags.DEFINE_enum("split", "train", SPLITS, "Which photos.")
    flags.DEFINE_integer("max_size", 1024, "Longer side of the written photos.", lower_bound=64)
    flags.DEFINE_bool("require_debian", True,
                      "Refuse without the Debian packages (False: scikit-image's photos only).")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    from dstyle_tf.photo_sets import provenance
    from dstyle_tf.photo_sets import write_photo_set

    values = flags.FLAGS
    written = cli.call(write_photo_set, values.out, values.split, values.max_size,
                       values.require_debian)
    print("\n".join(provenance(written)))
    print(f"{len(written)} photos in {values.out}")


def run():
    """Entry point of `python -m dstyle_tf.photos` and its console script."""
    cli.run_command(sys.modules[__name__])
