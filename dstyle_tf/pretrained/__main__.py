"""`python -m dstyle_tf.pretrained list|build` (`dstyle_tf.cli.pretrained`)."""

from dstyle_tf.cli.pretrained import run

if __name__ == "__main__":
    run()
