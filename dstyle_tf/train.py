"""`python -m dstyle_tf.train`: train one style transfer network (`dstyle_tf.cli.train`)."""

from dstyle_tf.cli.train import main  # noqa: F401
from dstyle_tf.cli.train import run

if __name__ == "__main__":
    run()
