"""TF Serving warm-up requests (`assets.extra/tf_serving_warmup_requests`).

The file is a TFRecord of serialised `tensorflow.serving.PredictionLog` protos;
TF Serving replays them when it loads a version, before marking it available,
so the first real request does not pay for graph initialisation.

The protos come from tensorflow-serving-api when it is installed (extra
`[serving]`); otherwise they are encoded by hand — the few fields used here
are written in protobuf wire format, byte-identical to the library's output
(checked in the tests).
"""

import io
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from export import saved_model

WARMUP_FILENAME = "tf_serving_warmup_requests"


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number, payload):
    """A length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _encode_by_hand(model_name, signature_name, inputs):
    # PredictionLog.predict_log = 6 -> PredictLog.request = 1 -> PredictRequest:
    #   model_spec = 1 (ModelSpec: name = 1, signature_name = 3),
    #   inputs = 2 (map<string, TensorProto>: key = 1, value = 2).
    model_spec = _field(1, model_name.encode()) + _field(3, signature_name.encode())
    request = _field(1, model_spec)
    for key, value in inputs.items():
        tensor = tf.make_tensor_proto(value).SerializeToString()
        request += _field(2, _field(1, key.encode()) + _field(2, tensor))
    return _field(6, _field(1, request))


def prediction_log(model_name, signature_name, inputs):
    """Serialised PredictionLog with one PredictRequest.

    Args:
        model_name: TF Serving model name (ModelSpec.name).
        signature_name: signature to warm up.
        inputs: dict of input key -> numpy array.
    """
    try:
        from tensorflow_serving.apis import model_pb2
        from tensorflow_serving.apis import predict_pb2
        from tensorflow_serving.apis import prediction_log_pb2
    except ImportError:
        return _encode_by_hand(model_name, signature_name, inputs)
    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature_name)
    )
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    log = prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request)
    )
    return log.SerializeToString()


def _warmup_image(height, width):
    """A smooth colourful uint8 image (content does not matter for warm-up)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack(
        [255 * x / max(width - 1, 1), 255 * y / max(height - 1, 1),
         127.5 + 127.5 * np.sin((x + y) / 9.0)],
        axis=-1,
    )
    return np.round(image).astype(np.uint8)


def warmup_records(model_name, image_size=(256, 256), num_styles=1, style_names=None):
    """One warm-up request per signature, at `image_size` (height, width);
    a model with `num_styles` > 1 is asked for its first style (by name:
    the first of `style_names`, by default `style_0`)."""
    image = _warmup_image(*image_size)
    png = io.BytesIO()
    Image.fromarray(image).save(png, format="PNG")
    images = {saved_model.IMAGES_KEY: image[None].astype(np.float32)}
    image_bytes = {saved_model.IMAGE_BYTES_KEY: np.array([png.getvalue()], dtype=object)}
    if num_styles == 1:
        return [
            prediction_log(model_name, saved_model.DEFAULT_SIGNATURE, images),
            prediction_log(model_name, saved_model.BYTES_SIGNATURE, image_bytes),
        ]
    weights = {saved_model.STYLE_WEIGHTS_KEY: np.eye(1, num_styles, dtype=np.float32)}
    style = {saved_model.STYLE_KEY: np.zeros(1, np.int32)}
    first = (style_names or ["style_0"])[0]
    style_name = {saved_model.STYLE_KEY: np.array([first.encode()], dtype=object)}
    return [
        prediction_log(model_name, saved_model.DEFAULT_SIGNATURE, {**images, **weights}),
        prediction_log(model_name, saved_model.STYLE_SIGNATURE, {**images, **style}),
        prediction_log(model_name, saved_model.BYTES_SIGNATURE, {**image_bytes, **style}),
        prediction_log(model_name, saved_model.STYLE_NAME_SIGNATURE, {**images, **style_name}),
        prediction_log(model_name, saved_model.BYTES_NAME_SIGNATURE, {**image_bytes, **style_name}),
    ]


def write_warmup_file(saved_model_dir, records):
    """Writes `records` to `<saved_model_dir>/assets.extra/tf_serving_warmup_requests`."""
    directory = os.path.join(saved_model_dir, "assets.extra")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, WARMUP_FILENAME)
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    return path
