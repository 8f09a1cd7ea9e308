"""SavedModel for TF Serving: one `tf.function` per input type, one `serve()`.

Signatures (see `saved_model_cli show --dir DIR --all`):

- `serving_default`: `images` float32 (B, H, W, 3) RGB in [0, 255], any H, W
  -> `stylized_images` float32, same shape, in [0, 255].
- `serving_bytes`: `image_bytes` string (B,) of encoded JPEG or PNG files
  (what REST clients send as {"b64": ...}) -> `png_bytes` string (B,) of
  PNG files of the same sizes. Images in one request may differ in size.

Both refuse requests over `max_pixels` (summed over the batch) and images with
a side under `min_side` with InvalidArgument before any large allocation; the
bytes path reads the sizes from the JPEG/PNG headers *before* decoding, so a
small file that would decompress to a huge image ("decompression bomb") is
refused without being decoded.
"""

import tensorflow as tf

IMAGES_KEY = "images"
STYLIZED_KEY = "stylized_images"
IMAGE_BYTES_KEY = "image_bytes"
PNG_BYTES_KEY = "png_bytes"
DEFAULT_SIGNATURE = "serving_default"
BYTES_SIGNATURE = "serving_bytes"

DEFAULT_MAX_PIXELS = 4096 * 4096
# TransformNet's 9x9 reflect padding needs at least 5 pixels per side.
DEFAULT_MIN_SIDE = 8

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_sizes(heights, widths, max_pixels, min_side):
    """Assertions (InvalidArgument) on per-image sizes; returns the ops."""
    heights = tf.cast(heights, tf.int64)
    widths = tf.cast(widths, tf.int64)
    total = tf.reduce_sum(heights * widths)
    return [
        tf.debugging.assert_less_equal(
            total,
            tf.constant(max_pixels, tf.int64),
            message=f"Request too large: more than {max_pixels} pixels in total. "
            "Downscale or tile the image(s) on the client.",
        ),
        tf.debugging.assert_greater_equal(
            tf.minimum(tf.reduce_min(heights), tf.reduce_min(widths)),
            tf.constant(min_side, tf.int64),
            message=f"Image too small: each side must be at least {min_side} pixels.",
        ),
    ]


def _big_endian_uint32(data, offset):
    raw = tf.io.decode_raw(tf.strings.substr(data, offset, 4), tf.uint8)
    raw = tf.cast(raw, tf.int64)
    return ((raw[0] * 256 + raw[1]) * 256 + raw[2]) * 256 + raw[3]


def encoded_image_size(data):
    """(height, width) int64 of one JPEG or PNG string, read from its header.

    Raises InvalidArgument (at run time) for anything else.
    """
    is_jpeg = tf.equal(tf.strings.substr(data, 0, 3), _JPEG_MAGIC)
    is_png = tf.logical_and(
        tf.equal(tf.strings.substr(data, 0, 8), _PNG_MAGIC),
        tf.greater_equal(tf.strings.length(data), 24),
    )
    check = tf.debugging.Assert(
        tf.logical_or(is_jpeg, is_png),
        ["image_bytes must be JPEG or PNG files (other formats are refused)."],
    )
    with tf.control_dependencies([check]):
        return tf.cond(
            is_jpeg,
            lambda: tf.cast(tf.image.extract_jpeg_shape(data)[:2], tf.int64),
            # PNG: 8-byte signature, IHDR length and type, width, height.
            lambda: tf.stack(
                [_big_endian_uint32(data, 20), _big_endian_uint32(data, 16)]
            ),
        )


class StylizeModule(tf.Module):
    """Serving wrapper around a `TransformNet` (or any image -> image model).

    Args:
        model: Keras model mapping float32 (B, H, W, 3) in [0, 255] to the same.
        max_pixels: int. Largest B·H·W a request may have.
        min_side: int. Smallest H or W accepted.
    """

    def __init__(self, model, max_pixels=DEFAULT_MAX_PIXELS, min_side=DEFAULT_MIN_SIDE):
        super().__init__(name="stylize_module")
        self.model = model
        self.max_pixels = int(max_pixels)
        self.min_side = int(min_side)

    def serve(self, images):
        """Float32 (B, H, W, 3) in [0, 255] -> stylised, same shape and range."""
        shape = tf.shape(images)
        heights = tf.fill([shape[0]], shape[1])
        widths = tf.fill([shape[0]], shape[2])
        checks = _check_sizes(heights, widths, self.max_pixels, self.min_side)
        with tf.control_dependencies(checks):
            images = tf.clip_by_value(tf.identity(images), 0.0, 255.0)
        stylized = self.model(images, training=False)
        return tf.clip_by_value(tf.cast(stylized, tf.float32), 0.0, 255.0)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.float32, name=IMAGES_KEY)
        ]
    )
    def serve_images(self, images):
        return {STYLIZED_KEY: self.serve(images)}

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string, name=IMAGE_BYTES_KEY)]
    )
    def serve_bytes(self, image_bytes):
        sizes = tf.map_fn(
            encoded_image_size,
            image_bytes,
            fn_output_signature=tf.TensorSpec([2], tf.int64),
        )
        sizes = tf.reshape(sizes, [-1, 2])
        checks = _check_sizes(sizes[:, 0], sizes[:, 1], self.max_pixels, self.min_side)

        def stylize_one(data):
            image = tf.io.decode_image(data, channels=3, expand_animations=False)
            image = tf.cast(image[tf.newaxis], tf.float32)
            image.set_shape([1, None, None, 3])
            stylized = self.serve(image)[0]
            return tf.io.encode_png(tf.cast(tf.round(stylized), tf.uint8))

        with tf.control_dependencies(checks):
            image_bytes = tf.identity(image_bytes)
        png = tf.map_fn(
            stylize_one,
            image_bytes,
            fn_output_signature=tf.TensorSpec([], tf.string),
            parallel_iterations=1,  # one image in memory at a time
        )
        return {PNG_BYTES_KEY: png}

    def signatures(self):
        return {
            DEFAULT_SIGNATURE: self.serve_images.get_concrete_function(),
            BYTES_SIGNATURE: self.serve_bytes.get_concrete_function(),
        }


def save(model, directory, max_pixels=DEFAULT_MAX_PIXELS, min_side=DEFAULT_MIN_SIDE):
    """Writes `model` as a SavedModel with both serving signatures."""
    module = StylizeModule(model, max_pixels=max_pixels, min_side=min_side)
    tf.saved_model.save(module, directory, signatures=module.signatures())
    return module
