"""The training model: f_W plus the frozen loss networks, with a custom step."""

import keras
import tensorflow as tf

from dstyle_tf import losses
from dstyle_tf import stability
from dstyle_tf.errors import check_choice
from dstyle_tf.models.instance_norm import ConditionalInstanceNormalization
from dstyle_tf.models.vgg import CONTENT_LAYER
from dstyle_tf.models.vgg import STYLE_LAYERS

LOSS_NAMES = (
    "loss", "content_loss", "style_loss", "depth_loss", "edge_loss", "stability_loss", "tv_loss",
    "distill_loss",
)
STYLE_MODES = ("per_batch", "split")
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


class StyleTransferTrainer(keras.Model):
    """Trains a `TransformNet` with perceptual, style, depth, edge and TV losses.

    L = λc·l_content + λs·l_style + λd·l_depth + λe·l_edge + λtv·l_tv
    (Liu et al. 2017 eq. 1; Johnson et al. 2016 when λd = λe = 0; the edge
    term is the local-structure term of Cheng et al., IEEE TIP 2020).

    The trainer owns the trainable transformation network and the frozen
    loss networks; only `transform_net` is checkpointed and exported. The
    style image's Gram matrices are computed once, here, and stored as
    constants. The depth network is only run when λd > 0, the edge network
    only when λe > 0.

    Several styles (Dumoulin et al. 2017): a multi-style `transform_net`
    and `style_images`, one per trained style. Each image of a batch is
    stylised in one style and compared with that style's Grams; which
    style is set by `style_mode` and the step, so a resumed run continues
    the same sequence. `style_loss_<name>` tracks each style's term.

    Args:
        transform_net: the `TransformNet` to train.
        vgg: a `VGGFeatures` exposing at least the content and style layers.
        style_image: (H, W, 3) or (1, H, W, 3) RGB in [0, 255] (one style).
        style_images: instead of `style_image`, a list of them: the styles
            trained, each (H, W, 3), any sizes.
        style_indices: the network's style index of each of `style_images`
            (default 0, 1, ...): a network can hold more styles than are
            trained (adding a style to a trained network).
        style_mode: `"split"` (image i of step t in style (i + t) mod K)
            or `"per_batch"` (the whole batch in one style, styles in turn
            step after step; measured worse). Only matters with several
            styles.
        train_only_styles: train only the conditional instance norms' scale
            and offset of the styles in `style_indices`; every other weight
            (and the other styles' rows) stays as it is.
        depth_net: a `DepthNetwork`, or `None` (then λd must be 0).
        edge_net: an `EdgeNetwork`, or `None` (then λe must be 0).
        stability_weight, stability_shift, stability_noise: λ of the
            stability term (Gupta et al. 2017), the largest translation in
            pixels and the noise std in grey levels of its perturbation
            (`dstyle_tf.stability`); the term costs one more pass of f_W.
        content_weight, style_weight, depth_weight, edge_weight, tv_weight:
            λc, λs, λd, λe, λtv.
        content_layer: VGG tap for the content loss.
        style_layers: VGG taps for the style loss.
        teacher_net: a trained single-style `TransformNet` to distil from
            (frozen, run in inference mode, only when `distill_weight` > 0),
            or `None`.
        distill_weight: λ of `losses.distill_loss`, the student's output
            against the teacher's on the same photos (added to L; every
            other term still applies).
    """

    def __init__(
        self,
        transform_net,
        vgg,
        style_image=None,
        depth_net=None,
        content_weight=1.0,
        style_weight=5.0,
        depth_weight=5.0,
        tv_weight=1e-6,
        content_layer=CONTENT_LAYER,
        style_layers=STYLE_LAYERS,
        edge_net=None,
        edge_weight=0.0,
        stability_weight=0.0,
        stability_shift=2,
        stability_noise=4.0,
        style_images=None,
        style_indices=None,
        style_mode="split",
        train_only_styles=False,
        teacher_net=None,
        distill_weight=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if (style_image is None) == (style_images is None):
            raise ValueError("Pass exactly one of style_image and style_images.")
        style_images = [style_image] if style_images is None else list(style_images)
        check_choice("style_mode", style_mode, STYLE_MODES)
        if depth_weight and depth_net is None:
            raise ValueError("depth_weight > 0 needs a depth network.")
        self.teacher_net = self.frozen_teacher(teacher_net, distill_weight)
        self.distill_weight = float(distill_weight)
        if edge_weight and edge_net is None:
            raise ValueError("edge_weight > 0 needs an edge network.")
        self.transform_net = transform_net
        # Variables must exist before fit traces train_step.
        if not transform_net.built:
            transform_net.build()
        self.vgg = vgg
        self.depth_net = depth_net if depth_weight else None
        self.edge_net = edge_net if edge_weight else None
        self.content_weight = float(content_weight)
        self.style_weight = float(style_weight)
        self.depth_weight = float(depth_weight)
        self.edge_weight = float(edge_weight)
        self.stability_weight = float(stability_weight)
        self.stability_shift = int(stability_shift)
        self.stability_noise = float(stability_noise)
        self.tv_weight = float(tv_weight)
        self.content_layer = content_layer
        self.style_layers = tuple(style_layers)
        self.style_indices = check_style_indices(
            transform_net, len(style_images), style_indices
        )
        self.style_mode = style_mode
        self.train_only_styles = bool(train_only_styles)
        self.style_grams = self.compute_style_grams(style_images)
        self.trackers = {
            name: keras.metrics.Mean(name=name) for name in LOSS_NAMES
        }
        self.style_trackers = {}
        if len(style_images) > 1:
            self.style_trackers = {
                position: keras.metrics.Mean(
                    name=f"style_loss_{transform_net.style_names[index]}"
                )
                for position, index in enumerate(self.style_indices)
            }
        # Steps whose gradients overflowed under loss scaling (float16).
        self.skipped_steps = keras.metrics.Sum(name="skipped_steps")

    @staticmethod
    def frozen_teacher(teacher_net, distill_weight):
        """The teacher, frozen; None when distillation is off."""
        if not distill_weight:
            return None
        if teacher_net is None:
            raise ValueError("distill_weight > 0 needs a teacher network.")
        if getattr(teacher_net, "num_styles", 1) != 1:
            raise ValueError(
                f"The teacher holds {teacher_net.num_styles} styles; distillation takes "
                "single-style teachers only (the trainer passes no style weights)."
            )
        teacher_net.trainable = False
        return teacher_net

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

    def compile(self, optimizer, **kwargs):
        """Compiles and builds the optimizer slots for f_W (outside tf.function)."""
        super().compile(optimizer=optimizer, **kwargs)
        self.optimizer.build(self.trained_variables)

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

    @property
    def uses_loss_scaling(self):
        return isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer)

    @property
    def metrics(self):
        metrics = list(self.trackers.values()) + list(self.style_trackers.values())
        if self.compiled and self.uses_loss_scaling:
            metrics.append(self.skipped_steps)
        return metrics

    def call(self, images, training=False):
        """The batch stylised, its images spread over the trained styles."""
        styles = self.step_styles(tf.shape(images)[0], mode="split")
        return self.stylize(images, styles, training=training)

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
            terms["edge_loss"] = losses.edge_loss(
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

    def train_step(self, data):
        images = data[0] if isinstance(data, tuple) else data
        variables = self.trained_variables
        styles = self.step_styles(tf.shape(images)[0])
        # Each replica sees 1/N of the global batch and the optimizer sums
        # the replicas' gradients, so the per-replica loss is divided by N.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            stylized = self.stylize(images, styles, training=True)
            terms = self.compute_losses(images, stylized, styles=styles)
            # Under mixed precision the optimizer is a LossScaleOptimizer and
            # scales the loss; otherwise scale_loss returns it unchanged.
            scaled = self.optimizer.scale_loss(terms["loss"] / replicas)
        gradients = tape.gradient(scaled, variables)
        if self.train_only_styles:
            gradients = self.mask_other_styles(gradients)
        if self.uses_loss_scaling:
            # The optimizer skips this update if any gradient overflowed;
            # count it, and keep non-finite values out of the loss means.
            finite = tf.reduce_all(
                [tf.reduce_all(tf.math.is_finite(g)) for g in gradients]
            )
            self.skipped_steps.update_state(1.0 - tf.cast(finite, tf.float32))
            self.optimizer.apply(gradients, variables)
            return self.update_trackers(terms, finite, styles)
        self.optimizer.apply(gradients, variables)
        return self.update_trackers(terms, styles=styles)

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

    def test_step(self, data):
        images = data[0] if isinstance(data, tuple) else data
        styles = self.step_styles(tf.shape(images)[0], mode="split")
        stylized = self.stylize(images, styles, training=False)
        return self.update_trackers(
            self.compute_losses(images, stylized, styles=styles), styles=styles
        )

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


def make_optimizer(learning_rate, dtype_policy):
    """Adam, wrapped for loss scaling under a float16 policy."""
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    if keras.DTypePolicy(dtype_policy).compute_dtype == "float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
