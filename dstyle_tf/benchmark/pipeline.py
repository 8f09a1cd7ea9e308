"""Input pipeline throughput: JPEG folder → decoded, resized, batched images.

Runs `dstyle_tf.data.make_dataset` with `source="folder"` (Pillow decoding,
resize to the training size, batching — exactly what training uses) over a
folder of JPEGs, by default COCO-sized 640×480 synthetic photos written to a
temporary directory, and reports images/s. Measured alone: during training
the pipeline shares the CPU with the train step.
"""

import os
import tempfile
import time

import numpy as np
from PIL import Image

from configs import paper
from dstyle_tf import data as data_lib
from dstyle_tf.benchmark import timing
from export import exporter


def write_jpeg_folder(folder, count, width=640, height=480, quality=90):
    """Writes `count` photo-like JPEGs of width×height into `folder`."""
    os.makedirs(folder, exist_ok=True)
    for index, image in enumerate(exporter.synthetic_images(count, height, width, seed=11)):
        path = os.path.join(folder, f"image_{index:04d}.jpg")
        Image.fromarray(image.astype(np.uint8)).save(path, quality=quality)
    return folder


def run(image_size, batch_size, repeats, warmup, image_folder=None, num_images=64,
        jpeg_size=(640, 480), log=print):
    """Images/s through the folder pipeline.

    Each timed repeat pulls as many batches as the folder has images (one
    pass); `warmup` passes are pulled first (thread pools, autotuning).
    """
    with tempfile.TemporaryDirectory(prefix="dstyle_bench_jpeg_") as scratch:
        folder = image_folder
        if not folder:
            log(f"pipeline: writing {num_images} {jpeg_size[0]}x{jpeg_size[1]} JPEGs")
            folder = write_jpeg_folder(scratch, num_images, *jpeg_size)
        files = data_lib.list_image_files(folder)
        config = paper.get_config().data
        config.source = "folder"
        config.folder = folder
        config.image_size = image_size
        config.batch_size = batch_size
        iterator = iter(data_lib.make_dataset(config, seed=0))
        batches = max(1, len(files) // batch_size)

        def one_pass():
            for _ in range(batches):
                next(iterator).numpy()

        log(f"pipeline: {len(files)} files, {batches} batches of {batch_size} a pass")
        start = time.perf_counter()
        stats = timing.measure(one_pass, repeats, warmup)
        elapsed = time.perf_counter() - start
    images = batches * batch_size
    return {
        "source": image_folder or f"synthetic {jpeg_size[0]}x{jpeg_size[1]} JPEG (quality 90)",
        "files": len(files),
        "image_size": image_size,
        "batch": batch_size,
        "images_per_pass": images,
        "images_per_s": timing.throughput(stats["median_ms"], images),
        "images_per_s_min": timing.throughput(stats["max_ms"], images),
        "images_per_s_max": timing.throughput(stats["min_ms"], images),
        "wall_s": elapsed,
        **stats,
    }
