"""dstyle_tf: depth-aware fast neural style transfer (Liu et al., NPAR 2017).

    import dstyle_tf
    stylized = dstyle_tf.stylize_image(photo, style="starry_night")   # the shipped network

Importing the package registers its Keras classes, so saved models load with
`keras.models.load_model("transform_net.keras")` after `import dstyle_tf`.
"""

from dstyle_tf.models import TransformNet  # noqa: F401  (registers layers)
from dstyle_tf.pretrained import stylize_image  # noqa: F401  (the one-call API)

__version__ = "0.1.0"
