"""`python -m dstyle_tf.compare`: Johnson et al. against the structure-aware network (`dstyle_tf.cli.compare`)."""

from dstyle_tf.cli.compare import main  # noqa: F401
from dstyle_tf.cli.compare import run

if __name__ == "__main__":
    run()
