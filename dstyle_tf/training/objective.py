"""The objective of the training model: the loss terms of L, their targets
on the photo side, and their running means (mixed into `StyleTransferTrainer`)."""

import tensorflow as tf

from dstyle_tf import losses
from dstyle_tf import stability

LOSS_NAMES = (
    "loss", "content_loss", "style_loss", "depth_loss", "edge_loss", "stability_loss", "tv_loss",
    "distill_loss",
)
# The weighted terms of L, by loss name and weight attribute.
WEIGHTED_TERMS = (
    ("content_loss", "content_weight"),
    ("style_loss", "style_weight"),
    ("depth_loss", "depth_weight"),
    ("edge_loss", "edge_weight"),
    ("stability_loss", "stability_weight"),
    ("tv_loss", "tv_weight"),
    ("distill_loss", "distill_weight"),
)


class LossTerms:
    """L's terms for a batch and its stylisation, from the trainer's networks
    and weights (`vgg`, `depth_net`, `edge_net`, `teacher_net`, λ attributes)."""

    def content_targets(self, images):
        """What the stylisation is compared with on the photo side.

        Only the content tap of VGG is run on the photos (not the deeper
        style layers), and the photos' depth and edges once. Fixed photos
        (single-image optimisation) compute this once and pass it to
        `compute_losses`.
        """
        targets = {"content": self.vgg(images, tap=self.content_layer)}
        if self.depth_net is not None:
            targets["depth"] = self.depth_net(images)
        if self.edge_net is not None:
            targets["edges"] = self.edge_net(images)
        if self.teacher_net is not None:
            targets["teacher"] = self.teacher_net(images, training=False)
        return {name: tf.stop_gradient(value) for name, value in targets.items()}

    def compute_losses(self, images, stylized, targets=None, styles=None):
        """Every loss term (float32 scalars) for a batch and its stylisation.

        With several trained styles, `style_losses` is also returned: (B,)
        each image's style term.

        Args:
            targets: `content_targets(images)`, if already computed.
            styles: int (B,), each image's trained style (as `stylize`);
                required with several trained styles.
        """
        if targets is None:
            targets = self.content_targets(images)
        out_features = self.vgg(stylized)
        grams = self.style_grams
        if self.num_trained_styles > 1:
            if styles is None:
                raise ValueError("Several styles are trained: pass each image's style.")
            grams = [tf.gather(gram, styles) for gram in grams]
        style_losses = losses.style_loss_per_image(
            [out_features[name] for name in self.style_layers], grams
        )
        terms = {
            "content_loss": losses.content_loss(
                out_features[self.content_layer], targets["content"]
            ),
            "style_loss": tf.reduce_mean(style_losses),
            "tv_loss": losses.total_variation_loss(stylized),
        }
        if self.style_trackers:
            terms["style_losses"] = style_losses
        if self.depth_net is not None:
            terms["depth_loss"] = losses.depth_loss(
                self.depth_net(stylized), targets["depth"]
            )
        else:
            terms["depth_loss"] = tf.constant(0.0, tf.float32)
        if self.edge_net is not None:
            terms["edge_loss"] = self.edge_net.structure_loss(
                self.stylized_edges(stylized, out_features), targets["edges"]
            )
        else:
            terms["edge_loss"] = tf.constant(0.0, tf.float32)
        terms["stability_loss"] = (
            self.stability_term(images, stylized, styles)
            if self.stability_weight
            else tf.constant(0.0, tf.float32)
        )
        terms["distill_loss"] = (
            losses.distill_loss(stylized, targets["teacher"])
            if self.teacher_net is not None
            else tf.constant(0.0, tf.float32)
        )
        terms["loss"] = tf.add_n(
            [getattr(self, weight) * terms[name] for name, weight in WEIGHTED_TERMS]
        )
        return terms

    def stability_term(self, images, stylized, styles=None):
        """l_stab between f(x) and f of a translated, noisy x, moved back.

        The perturbation's seed is the optimizer step, so it changes every
        step and a resumed run draws the same ones.
        """
        step = tf.cast(self.optimizer.iterations, tf.int32) if self.compiled else tf.constant(0)
        perturbed, shift = stability.perturb(
            images, tf.stack([step, 7919]), self.stability_shift, self.stability_noise
        )
        if styles is None:
            styles = tf.zeros((tf.shape(images)[0],), tf.int32)
        out = self.stylize(perturbed, styles, training=True)
        return losses.stability_loss(
            *stability.aligned_interior(stylized, out, shift, self.stability_shift)
        )

    def stylized_edges(self, stylized, vgg_features):
        """φ2(ŷ), reusing the loss network's taps when it is HED's own VGG-16.

        With `vgg.weights=hed` HED's first four blocks are the loss network's
        convolutions, which already ran on ŷ: only block 5 is left to run
        (the exact HED result for sizes that are multiples of 16).
        """
        height, width = stylized.shape[1], stylized.shape[2]
        if (
            height and width and height % 16 == 0 and width % 16 == 0
            and self.edge_net.shares_trunk_with(self.vgg)
        ):
            return self.edge_net.edges_from_vgg_taps(vgg_features, (height, width))
        return self.edge_net(stylized)

    def active_terms(self):
        """Names of the loss terms with a non-zero weight."""
        return [name for name, weight in WEIGHTED_TERMS if getattr(self, weight)]

    def update_trackers(self, terms, include=None, styles=None):
        """Adds the terms to the running means (only if `include`, if given)."""
        weight = 1.0 if include is None else tf.cast(include, tf.float32)
        for name, tracker in self.trackers.items():
            value = terms[name]
            if include is not None:
                value = tf.where(include, value, tf.zeros_like(value))
            tracker.update_state(value, sample_weight=weight)
        for position, tracker in self.style_trackers.items():
            values = terms["style_losses"]
            if include is not None:
                values = tf.where(include, values, tf.zeros_like(values))
            tracker.update_state(
                values, sample_weight=weight * tf.cast(tf.equal(styles, position), tf.float32)
            )
        logs = {metric.name: metric.result() for metric in self.metrics}
        extended = tf.distribute.get_strategy().extended
        if getattr(extended, "_in_multi_worker_mode", lambda: False)():
            # Keras averages step outputs across workers with
            # reduce(MEAN, axis=0), which needs a leading axis.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs
