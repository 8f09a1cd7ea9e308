"""TFDS prepares coco/2017 (the paper config's data) offline, up to and past the download.

A fresh install once stopped before downloading anything because TFDS's preparation imports
a package it does not declare (importlib_resources). These tests run TFDS's real preparation
code with only the network replaced, so a missing import fails here instead of on a user's
first paper run.
"""

import json

import numpy as np
import pytest
import requests
import tensorflow_datasets as tfds
from PIL import Image

from dstyle_tf import data as data_lib
from dstyle_tf.errors import UserError

from conftest import smoke_config

# What TFDS fetches for coco/2017: every split's images and annotations (tensorflow_datasets
# object_detection/coco.py; sizes from its url_checksums/coco.txt).
COCO_2017_ARCHIVES = {
    "http://images.cocodataset.org/zips/train2017.zip",  # 19.3 GB
    "http://images.cocodataset.org/zips/val2017.zip",  # 0.8 GB
    "http://images.cocodataset.org/zips/test2017.zip",  # 6.6 GB
    "http://images.cocodataset.org/annotations/annotations_trainval2017.zip",  # 253 MB
    "http://images.cocodataset.org/annotations/image_info_test2017.zip",  # 1 MB
}
# split name, image folder, annotation file (inside <annotations>/annotations/)
COCO_2017_SPLITS = [
    ("train", "train2017", "instances_train2017.json"),
    ("validation", "val2017", "instances_val2017.json"),
    ("test", "test2017", "image_info_test2017.json"),
]


class NetworkReached(Exception):
    """Raised where TFDS would open its first HTTP connection."""


def _coco_config(tmp_path, **overrides):
    return smoke_config(
        data__source="tfds", data__tfds_name="coco/2017", data__split="train",
        data__tfds_data_dir=str(tmp_path / "tensorflow_datasets"), data__batch_size=2,
        data__image_size=16, **overrides,
    ).data


def test_paper_data_path_gets_as_far_as_the_download(tmp_path, monkeypatch):
    requested = []

    def no_network(session, url, *args, **kwargs):
        requested.append(url)
        raise NetworkReached(url)

    monkeypatch.setattr(requests.Session, "get", no_network)
    with pytest.raises(UserError) as raised:
        data_lib.make_dataset(_coco_config(tmp_path))
    # What stopped it is the (missing) network, not an import inside TFDS.
    assert "NetworkReached" in str(raised.value), str(raised.value)
    # The archives download in parallel and the first failure stops the
    # rest, so how many were asked for depends on timing: only COCO's.
    assert requested and set(requested) <= COCO_2017_ARCHIVES


def _write_extracted_coco(root, rng):
    """A two-image stand-in for each extracted COCO 2017 archive, laid out as TFDS expects."""
    categories = [{"id": i + 1, "name": f"class{i}", "supercategory": "s"} for i in range(80)]
    paths = {}
    for split, image_folder, annotation_file in COCO_2017_SPLITS:
        images_dir = root / f"{split}_images"
        (images_dir / image_folder).mkdir(parents=True)
        images = []
        for image_id in range(2):
            name = f"{image_id:012d}.jpg"
            pixels = rng.integers(0, 256, (20, 30, 3), np.uint8)
            Image.fromarray(pixels).save(images_dir / image_folder / name)
            images.append({"id": image_id, "file_name": name, "height": 20, "width": 30})
        annotations_dir = root / f"{split}_annotations"
        (annotations_dir / "annotations").mkdir(parents=True)
        boxes = [{"id": 1, "image_id": 0, "bbox": [2, 3, 10, 5], "category_id": 1,
                  "area": 50.0, "iscrowd": 0}]
        (annotations_dir / "annotations" / annotation_file).write_text(json.dumps(
            {"categories": categories, "images": images, "annotations": boxes}
        ))
        paths[f"{split}_images"] = str(images_dir)
        paths[f"{split}_annotations"] = str(annotations_dir)
    return paths


def test_coco_preparation_completes_from_local_archives(tmp_path, monkeypatch, rng):
    extracted = _write_extracted_coco(tmp_path / "extracted", rng)

    def local_archives(manager, urls):
        assert {urls[key] for key in urls} == COCO_2017_ARCHIVES
        return extracted

    monkeypatch.setattr(tfds.download.DownloadManager, "download_and_extract", local_archives)
    config = _coco_config(tmp_path)
    tfds.builder("coco/2017", data_dir=config.tfds_data_dir).download_and_prepare()

    config.download = False  # read what was prepared, as a later run would
    batch = next(iter(data_lib.make_dataset(config))).numpy()
    assert batch.shape == (2, 16, 16, 3) and batch.dtype == np.float32
    assert batch.std() > 10  # the random test photos, not blank frames
