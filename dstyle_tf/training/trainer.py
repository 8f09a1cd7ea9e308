"""The training model: f_W plus the frozen loss networks, with a custom step.

Its loss terms are in `objective`, its styles in `styles`, the gradient
shares diagnostic in `gradient_norms`.
"""

import keras
import tensorflow as tf

from dstyle_tf.errors import check_choice
from dstyle_tf.models.vgg import CONTENT_LAYER
from dstyle_tf.models.vgg import STYLE_LAYERS
from dstyle_tf.training.gradient_norms import GradientNorms
from dstyle_tf.training.objective import LOSS_NAMES
from dstyle_tf.training.objective import WEIGHTED_TERMS  # noqa: F401  (public API)
from dstyle_tf.training.objective import LossTerms
from dstyle_tf.training.styles import STYLE_MODES
from dstyle_tf.training.styles import TrainedStyles
from dstyle_tf.training.styles import check_style_indices

class StyleTransferTrainer(LossTerms, TrainedStyles, GradientNorms, keras.Model):
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

    def compile(self, optimizer, **kwargs):
        """Compiles and builds the optimizer slots for f_W (outside tf.function)."""
        super().compile(optimizer=optimizer, **kwargs)
        self.optimizer.build(self.trained_variables)

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

    def test_step(self, data):
        images = data[0] if isinstance(data, tuple) else data
        styles = self.step_styles(tf.shape(images)[0], mode="split")
        stylized = self.stylize(images, styles, training=False)
        return self.update_trackers(
            self.compute_losses(images, stylized, styles=styles), styles=styles
        )

def make_optimizer(learning_rate, dtype_policy):
    """Adam, wrapped for loss scaling under a float16 policy."""
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    if keras.DTypePolicy(dtype_policy).compute_dtype == "float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
