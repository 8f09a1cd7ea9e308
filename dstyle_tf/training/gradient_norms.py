"""Gradient norms: how much each weighted loss term pulls on f_W (a
diagnostic for calibrating the loss weights, mixed into `StyleTransferTrainer`)."""

import tensorflow as tf

from dstyle_tf.training.objective import WEIGHTED_TERMS


class GradientNorms:
    """‖λ_i ∇_W l_i‖ per active loss term."""

    @tf.function
    def gradient_norms(self, images):
        """‖λ_i ∇_W l_i‖ for each active term i, over f_W's variables.

        One forward pass, one backward pass per term: a diagnostic for
        calibrating the loss weights (`train.gradient_share_every`), not
        part of the training step.
        """
        variables = self.trained_variables
        styles = self.step_styles(tf.shape(images)[0], mode="split")
        with tf.GradientTape(persistent=True) as tape:
            stylized = self.stylize(images, styles, training=True)
            terms = self.compute_losses(images, stylized, styles=styles)
        norms = {}
        for name in self.active_terms():
            weight = getattr(self, dict(WEIGHTED_TERMS)[name])
            grads = tape.gradient(terms[name], variables)
            grads = [g for g in grads if g is not None]
            norms[name] = weight * tf.linalg.global_norm(grads)
        del tape
        return norms
