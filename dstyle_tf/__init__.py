"""dstyle_tf: depth-aware fast neural style transfer (Liu et al., NPAR 2017).

Importing the package registers its Keras classes, so saved models load with
`keras.models.load_model("transform_net.keras")` after `import dstyle_tf`.
"""

from dstyle_tf.models import TransformNet  # noqa: F401  (registers layers)

__version__ = "0.1.0"
