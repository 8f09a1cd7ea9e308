"""`python -m dstyle_tf.web` (`dstyle_tf.cli.web`)."""

from dstyle_tf.cli.web import run

if __name__ == "__main__":
    run()
