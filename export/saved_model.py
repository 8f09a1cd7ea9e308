"""SavedModel for TF Serving: one `tf.function` per input type, one `serve()`.

Signatures (see `saved_model_cli show --dir DIR --all`):

- `serving_default`: `images` float32 (B, H, W, 3) RGB in [0, 255], any H, W
  -> `stylized_images` float32, same shape, in [0, 255].
- `serving_bytes`: `image_bytes` string (B,) of encoded JPEG or PNG files
  (what REST clients send as {"b64": ...}) -> `png_bytes` string (B,) of
  PNG files of the same sizes. Images in one request may differ in size.

A multi-style network (`TransformNet(num_styles=N)`) gets style inputs:

- `serving_default`: `images` and `style_weights` float32 (B, N), each row
  non-negative with a positive sum (divided by it: [1, 1] is half of each).
- `serving_style`: `images` and `style` int32 (B,), each a style index in
  [0, N) (REST clients need no vector).
- `serving_bytes`: `image_bytes` and `style` int32 (B,).
- `serving_style_name`: `images` and `style` string (B,), each a style name
  or its index as text ("wave", "2"): a REST client sends `"style": "wave"`.
- `serving_bytes_name`: `image_bytes` and `style` string (B,), the same.

An unknown name is refused with InvalidArgument listing the model's styles.
The style names, in index order, are the module's `style_names` variable
(and the model card's `styles`). A single-style network's SavedModel is as
before: no style inputs.

All refuse requests over `max_pixels` (summed over the batch) and images with
a side under `min_side` with InvalidArgument before any large allocation; the
bytes path reads the sizes from the JPEG/PNG headers *before* decoding, so a
small file that would decompress to a huge image ("decompression bomb") is
refused without being decoded.
"""

import os

import tensorflow as tf

IMAGES_KEY = "images"
STYLIZED_KEY = "stylized_images"
IMAGE_BYTES_KEY = "image_bytes"
PNG_BYTES_KEY = "png_bytes"
STYLE_WEIGHTS_KEY = "style_weights"
STYLE_KEY = "style"
DEFAULT_SIGNATURE = "serving_default"
BYTES_SIGNATURE = "serving_bytes"
STYLE_SIGNATURE = "serving_style"
STYLE_NAME_SIGNATURE = "serving_style_name"
BYTES_NAME_SIGNATURE = "serving_bytes_name"

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


def normalized_style_weights(style_weights, batch):
    """(B, N) weights divided by their row sums; InvalidArgument for a batch
    mismatch, negative or non-finite weights, or a row that sums to <= 0."""
    checks = [
        tf.debugging.assert_equal(
            tf.shape(style_weights)[0], batch,
            message="style_weights must have one row per image.",
        ),
        tf.debugging.assert_greater_equal(
            style_weights, 0.0, message="style_weights must be non-negative.",
        ),
        tf.debugging.assert_positive(
            tf.reduce_sum(style_weights, axis=1),
            message="Each row of style_weights must sum to a positive number.",
        ),
    ]
    with tf.control_dependencies(checks):
        return style_weights / tf.reduce_sum(style_weights, axis=1, keepdims=True)


def one_hot_styles(style, num_styles):
    """(B, N) one-hot weights of style indices (B,); InvalidArgument if out of range."""
    checks = [
        tf.debugging.assert_greater_equal(style, 0, message=f"style must be in [0, {num_styles})."),
        tf.debugging.assert_less(style, num_styles, message=f"style must be in [0, {num_styles})."),
    ]
    with tf.control_dependencies(checks):
        return tf.one_hot(style, num_styles, dtype=tf.float32)


def style_indices(style, style_names):
    """int32 (B,) indices of styles given as text (B,): a name of
    `style_names`, else a 0-based index written in digits (" 2" too), as
    `stylize --style` reads them. InvalidArgument, listing the model's
    styles and the refused values, for anything else."""
    names = tf.constant(list(style_names))
    count = len(style_names)
    matches = tf.equal(style[:, tf.newaxis], names[tf.newaxis, :])
    by_name = tf.argmax(tf.cast(matches, tf.int32), axis=1, output_type=tf.int32)
    digits = tf.strings.strip(style)
    # At most 9 digits: to_number cannot overflow int32.
    is_number = tf.strings.regex_full_match(digits, "[0-9]{1,9}")
    by_number = tf.strings.to_number(tf.where(is_number, digits, "-1"), tf.int32)
    index = tf.where(
        tf.reduce_any(matches, axis=1), by_name, tf.where(is_number, by_number, -1)
    )
    known = tf.logical_and(index >= 0, index < count)
    listed = ", ".join(f"{i} {name}" for i, name in enumerate(style_names))
    check = tf.debugging.Assert(
        tf.reduce_all(known),
        [f"Unknown style; the styles of this model are: {listed}. Refused:",
         tf.boolean_mask(style, tf.logical_not(known))],
    )
    with tf.control_dependencies([check]):
        return tf.identity(index)


class StylizeModule(tf.Module):
    """Serving wrapper around a `TransformNet` (or any image -> image model).

    Args:
        model: Keras model mapping float32 (B, H, W, 3) in [0, 255] to the
            same; with `num_styles` > 1 it also takes `style_weights`.
        max_pixels: int. Largest B·H·W a request may have.
        min_side: int. Smallest H or W accepted.
    """

    def __init__(self, model, max_pixels=DEFAULT_MAX_PIXELS, min_side=DEFAULT_MIN_SIDE):
        super().__init__(name="stylize_module")
        self.model = model
        self.max_pixels = int(max_pixels)
        self.min_side = int(min_side)
        self.num_styles = int(getattr(model, "num_styles", 1))
        # One tf.function per signature, made per instance: saving traces
        # every function the module holds, so it holds only those that fit.
        images = tf.TensorSpec([None, None, None, 3], tf.float32, name=IMAGES_KEY)
        image_bytes = tf.TensorSpec([None], tf.string, name=IMAGE_BYTES_KEY)
        if self.num_styles == 1:
            self.serve_images = tf.function(self._images, input_signature=[images])
            self.serve_bytes = tf.function(self._bytes, input_signature=[image_bytes])
            return
        self.style_names = tf.Variable(
            list(model.style_names), trainable=False, dtype=tf.string, name="style_names"
        )
        weights = tf.TensorSpec([None, self.num_styles], tf.float32, name=STYLE_WEIGHTS_KEY)
        style = tf.TensorSpec([None], tf.int32, name=STYLE_KEY)
        style_name = tf.TensorSpec([None], tf.string, name=STYLE_KEY)
        self.serve_images = tf.function(self._weighted_images, input_signature=[images, weights])
        self.serve_style = tf.function(self._style_images, input_signature=[images, style])
        self.serve_bytes = tf.function(self._style_bytes, input_signature=[image_bytes, style])
        self.serve_style_name = tf.function(
            self._named_style_images, input_signature=[images, style_name]
        )
        self.serve_bytes_name = tf.function(
            self._named_style_bytes, input_signature=[image_bytes, style_name]
        )

    def serve(self, images, style_weights=None):
        """Float32 (B, H, W, 3) in [0, 255] -> stylised, same shape and range.

        `style_weights` (B, N), for a multi-style model only, are checked and
        divided by their row sums (`normalized_style_weights`).
        """
        shape = tf.shape(images)
        heights = tf.fill([shape[0]], shape[1])
        widths = tf.fill([shape[0]], shape[2])
        checks = _check_sizes(heights, widths, self.max_pixels, self.min_side)
        with tf.control_dependencies(checks):
            images = tf.clip_by_value(tf.identity(images), 0.0, 255.0)
        if style_weights is None:
            stylized = self.model(images, training=False)
        else:
            weights = normalized_style_weights(style_weights, shape[0])
            stylized = self.model(images, style_weights=weights, training=False)
        return tf.clip_by_value(tf.cast(stylized, tf.float32), 0.0, 255.0)

    def _images(self, images):
        return {STYLIZED_KEY: self.serve(images)}

    def _bytes(self, image_bytes):
        return self.stylize_bytes(image_bytes)

    def _weighted_images(self, images, style_weights):
        return {STYLIZED_KEY: self.serve(images, style_weights)}

    def _style_images(self, images, style):
        return {STYLIZED_KEY: self.serve(images, one_hot_styles(style, self.num_styles))}

    def _style_bytes(self, image_bytes, style):
        return self.stylize_bytes(image_bytes, one_hot_styles(style, self.num_styles))

    def _named_style_images(self, images, style):
        return self._style_images(images, style_indices(style, self.model.style_names))

    def _named_style_bytes(self, image_bytes, style):
        return self._style_bytes(image_bytes, style_indices(style, self.model.style_names))

    def stylize_bytes(self, image_bytes, style_weights=None):
        """PNG files of the stylised JPEG/PNG files (B,); `style_weights`
        (B, N) for a multi-style model."""
        sizes = tf.map_fn(
            encoded_image_size,
            image_bytes,
            fn_output_signature=tf.TensorSpec([2], tf.int64),
        )
        sizes = tf.reshape(sizes, [-1, 2])
        checks = _check_sizes(sizes[:, 0], sizes[:, 1], self.max_pixels, self.min_side)

        def stylize_one(data, weights=None):
            image = tf.io.decode_image(data, channels=3, expand_animations=False)
            image = tf.cast(image[tf.newaxis], tf.float32)
            image.set_shape([1, None, None, 3])
            weights = None if weights is None else weights[tf.newaxis]
            stylized = self.serve(image, weights)[0]
            return tf.io.encode_png(tf.cast(tf.round(stylized), tf.uint8))

        with tf.control_dependencies(checks):
            image_bytes = tf.identity(image_bytes)
        if style_weights is None:
            fn, elements = stylize_one, image_bytes
        else:
            fn, elements = (lambda item: stylize_one(*item)), (image_bytes, style_weights)
        png = tf.map_fn(
            fn,
            elements,
            fn_output_signature=tf.TensorSpec([], tf.string),
            parallel_iterations=1,  # one image in memory at a time
        )
        return {PNG_BYTES_KEY: png}

    def signatures(self):
        signatures = {
            DEFAULT_SIGNATURE: self.serve_images.get_concrete_function(),
            BYTES_SIGNATURE: self.serve_bytes.get_concrete_function(),
        }
        if self.num_styles > 1:
            signatures[STYLE_SIGNATURE] = self.serve_style.get_concrete_function()
            signatures[STYLE_NAME_SIGNATURE] = self.serve_style_name.get_concrete_function()
            signatures[BYTES_NAME_SIGNATURE] = self.serve_bytes_name.get_concrete_function()
        return signatures


def save(model, directory, max_pixels=DEFAULT_MAX_PIXELS, min_side=DEFAULT_MIN_SIDE):
    """Writes `model` as a SavedModel with its serving signatures (module doc)."""
    module = StylizeModule(model, max_pixels=max_pixels, min_side=min_side)
    tf.saved_model.save(module, directory, signatures=module.signatures())
    return module


# Where `write_model_config` expects the export folder inside the server
# (the Docker image's convention: `-v "$PWD/saved_models:/models"`).
SERVER_MODELS_DIR = "/models"


def write_model_config(export_dir, names, server_dir=SERVER_MODELS_DIR):
    """Writes `<export_dir>/models.config`: a TF Serving model config serving
    the models `names` from `<server_dir>/<name>` (`--model_config_file`).

    Returns:
        the file's path.
    """
    from dstyle_tf import atomic

    entries = "".join(
        f'  config {{\n    name: "{name}"\n    base_path: "{server_dir}/{name}"\n'
        f'    model_platform: "tensorflow"\n  }}\n'
        for name in names
    )
    path = os.path.join(export_dir, "models.config")
    atomic.write_text(path, f"model_config_list {{\n{entries}}}\n")
    return path
