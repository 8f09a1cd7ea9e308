"""Networks: the trainable transformation network and the frozen loss networks."""

from dstyle_tf.models.transform_net import TransformNet
