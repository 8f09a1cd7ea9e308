"""The styles a training model trains: their Gram targets, which style each
image of a step gets, and the variables that move (mixed into `StyleTransferTrainer`)."""

import tensorflow as tf

from dstyle_tf import losses
from dstyle_tf.models.instance_norm import ConditionalInstanceNormalization

STYLE_MODES = ("per_batch", "split")


class TrainedStyles:
    """One or several trained styles (Dumoulin et al. 2017) of `transform_net`."""

    def compute_style_grams(self, style_images):
        """Per style layer, the (K, C, C) Grams of the K style images."""
        grams = [[] for _ in self.style_layers]
        for image in style_images:
            style = tf.convert_to_tensor(image, tf.float32)
            if style.shape.rank == 3:
                style = style[None]
            features = self.vgg(style)
            for per_layer, name in zip(grams, self.style_layers):
                per_layer.append(losses.gram_matrix(features[name]))
        return [tf.constant(tf.concat(per_layer, axis=0)) for per_layer in grams]

    @property
    def num_trained_styles(self):
        return len(self.style_indices)

    @property
    def trained_variables(self):
        """The variables the optimizer updates."""
        if not self.train_only_styles:
            return self.transform_net.trainable_variables
        return [
            variable
            for layer in conditional_norms(self.transform_net)
            for variable in (layer.gamma, layer.beta)
        ]

    def step_styles(self, batch_size, mode=None):
        """int32 (B,): which of the trained styles each image of this step gets."""
        if self.num_trained_styles == 1:
            return tf.zeros((batch_size,), tf.int32)
        step = tf.cast(self.optimizer.iterations, tf.int32) if self.compiled else tf.constant(0)
        if (mode or self.style_mode) == "per_batch":
            return tf.fill((batch_size,), step % self.num_trained_styles)
        return (tf.range(batch_size) + step) % self.num_trained_styles

    def stylize(self, images, styles, training=False):
        """f_W(images), image i in trained style `styles[i]`."""
        if num_styles(self.transform_net) == 1:
            return self.transform_net(images, training=training)
        indices = tf.gather(tf.constant(self.style_indices, tf.int32), styles)
        weights = tf.one_hot(indices, num_styles(self.transform_net))
        return self.transform_net(images, style_weights=weights, training=training)

    def mask_other_styles(self, gradients):
        """Zeroes the gradient rows of the styles that are not trained.

        Adam's update of a row whose gradient was always zero is zero, so
        those rows keep their values exactly.
        """
        mask = tf.scatter_nd(
            [[index] for index in self.style_indices],
            tf.ones((self.num_trained_styles,)),
            [num_styles(self.transform_net)],
        )[:, None]
        return [g * tf.cast(mask, g.dtype) for g in gradients]


def conditional_norms(net):
    """The conditional instance norms of a network, in order."""
    return [
        layer for layer in net._flatten_layers()
        if isinstance(layer, ConditionalInstanceNormalization)
    ]


def num_styles(net):
    """Styles a trained image model holds (1 for anything without styles,
    e.g. the pixels of single-image optimisation)."""
    return getattr(net, "num_styles", 1)


def check_style_indices(net, count, style_indices):
    """The network's style index of each of `count` trained styles."""
    indices = tuple(range(count)) if style_indices is None else tuple(int(i) for i in style_indices)
    if len(indices) != count or len(set(indices)) != count:
        raise ValueError(f"Need {count} distinct style indices; got {style_indices}.")
    if any(not 0 <= index < num_styles(net) for index in indices):
        raise ValueError(
            f"Style indices {indices} out of range for a network of {num_styles(net)} style(s)."
        )
    return indices
