"""`python -m dstyle_tf.evaluate`: measure structure preservation against style strength (`dstyle_tf.cli.evaluate`)."""

from dstyle_tf.cli.evaluate import main  # noqa: F401
from dstyle_tf.cli.evaluate import run

if __name__ == "__main__":
    run()
