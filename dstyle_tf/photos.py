"""`python -m dstyle_tf.photos`: real photos that install offline, into a folder (`dstyle_tf.cli.photos`)."""

from dstyle_tf.cli.photos import main  # noqa: F401
from dstyle_tf.cli.photos import run

if __name__ == "__main__":
    run()
