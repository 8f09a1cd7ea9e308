"""`python -m dstyle_tf.stills`: stills of a short clip side by side (`dstyle_tf.cli.stills`)."""

from dstyle_tf.cli.stills import main  # noqa: F401
from dstyle_tf.cli.stills import run

if __name__ == "__main__":
    run()
