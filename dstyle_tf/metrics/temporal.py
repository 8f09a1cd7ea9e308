"""Flicker: how consistently a stylisation follows a camera that moves a little.

A synthetic clip is filmed from one photo by a virtual camera with known
motion (sub-pixel pans and small zooms, one affine map per frame, plus
sensor-like Gaussian noise). Every frame is stylised on its own; each
stylised frame is then warped with the known motion onto the next one, and
what still differs is flicker (Gupta et al., "Characterizing and Improving
Stability in Neural Style Transfer", ICCV 2017; the warping error of Lai et
al., "Learning Blind Video Temporal Consistency", ECCV 2018).

Warping error, as defined here (and by Lai et al.):

    E = 1/(T-1) Σ_t  mean over the valid overlap V_t and the channels of
        (warp(F_t, M_t) − F_{t+1})²

with F_t in [0, 1] (pixel values / 255), M_t the motion from frame t to
t+1 and V_t the pixels of frame t+1 whose source lies inside frame t (at
least `border` pixels from its edge). It is a mean *squared* difference:
Gaussian noise of standard deviation σ (in 0–255 units) between otherwise
equal frames gives E ≈ 2·(σ/255)² for a still camera (a little less when it
moves: resampling smooths the noise of the warped frame). `flicker` also reports E of the input
frames and the ratio of the two (1 = as steady as the input clip; a
stylisation that amplifies the frame-to-frame noise gives more).

Motions are 3×3 homogeneous matrices in (row, column) pixel coordinates
that map an output pixel to where it is sampled: `warp(image, M)[q] =
image[M q]`, the convention of `scipy.ndimage.affine_transform`.

Example:
```python
from dstyle_tf.metrics import flicker
result = flicker(lambda frame: stylize_image(frame, stylizer), photo)
result["flicker_warp_error"], result["flicker_ratio"]
```
"""

import numpy as np

from dstyle_tf.metrics.optional import require

FLICKER_METRICS = ("flicker_warp_error", "flicker_ratio")


def _camera(center_photo, center_frame, pan, zoom):
    """Frame pixel → photo pixel: p = center_photo + pan + (q − center_frame) / zoom."""
    camera = np.eye(3)
    camera[:2, :2] /= zoom
    camera[:2, 2] = center_photo + pan - center_frame / zoom
    return camera


def _resample(image, motion, output_shape, order):
    """`out[q] = image[motion @ q]` on an `output_shape` grid, per channel."""
    ndimage = require("scipy.ndimage")
    image = np.asarray(image, np.float64)
    motion = np.asarray(motion, np.float64)
    channels = image[..., None] if image.ndim == 2 else image
    out = np.stack(
        [
            ndimage.affine_transform(
                channels[..., c], motion[:2, :2], offset=motion[:2, 2],
                output_shape=tuple(output_shape), order=order, mode="nearest",
            )
            for c in range(channels.shape[-1])
        ],
        axis=-1,
    )
    return out[..., 0] if image.ndim == 2 else out


def warp(image, motion, order=3):
    """Resamples `image` with an affine motion: `out[q] = image[motion @ q]`.

    Args:
        image: (H, W) or (H, W, C) array.
        motion: 3×3 homogeneous matrix in (row, column) coordinates, e.g. one
            of the motions of `synthetic_clip` (frame t onto frame t+1).
        order: spline order of the interpolation (3: cubic, 1: bilinear).

    Returns:
        float64 array of the image's shape; pixels sampled from outside the
        image repeat its edge (`valid_mask` says which ones to trust).
    """
    return _resample(image, motion, np.shape(image)[:2], order)


def valid_mask(shape, motion, border=2):
    """Pixels q of an (H, W) output whose source `motion @ q` lies inside the
    image, at least `border` pixels from its edge (the interpolation's support)."""
    height, width = shape[:2]
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    motion = np.asarray(motion, np.float64)
    source_rows = motion[0, 0] * rows + motion[0, 1] * cols + motion[0, 2]
    source_cols = motion[1, 0] * rows + motion[1, 1] * cols + motion[1, 2]
    return (
        (source_rows >= border)
        & (source_rows <= height - 1 - border)
        & (source_cols >= border)
        & (source_cols <= width - 1 - border)
    )


def synthetic_clip(
    photo,
    num_frames,
    *,
    max_shift=0.75,
    max_zoom=0.01,
    noise=2.0,
    blur=1.0,
    margin=0.1,
    seed=0,
    order=3,
):
    """Films `photo` with a slowly moving virtual camera.

    The camera looks at a window of the photo `margin` smaller on every
    side; between frames it pans by up to `max_shift` pixels per axis and
    zooms in by up to a factor 1 + `max_zoom` (uniform random steps, the pan
    kept inside the margin), so every frame shows only photo pixels.

    Args:
        photo: RGB (H, W, 3) in [0, 255].
        num_frames: frames to make (≥ 2).
        max_shift: largest pan per frame, pixels.
        max_zoom: largest relative zoom per frame.
        noise: standard deviation of the Gaussian sensor noise added to each
            frame independently (0–255 units); 0 for a noise-free clip.
        blur: standard deviation (pixels) of a Gaussian "lens" blur of the
            photo before filming. It removes the detail finer than a pixel,
            which no resampling can move exactly: with 1.0 a noise-free clip of
            a real photo warps onto itself to E ≈ 3e-7 (unblurred: ≈ 3e-4 for
            scikit-image's astronaut at 128×128, above the noise floor).
        margin: fraction of each side of the photo kept outside the frame.
        seed: random seed of the motion and the noise.
        order: spline order used to resample the photo.

    Returns:
        (frames, motions): float32 frames (num_frames, h, w, 3) in [0, 255]
        and num_frames − 1 motions (3×3), motion t mapping frame t onto
        frame t+1 (`warp(frames[t], motions[t]) ≈ frames[t+1]`).
    """
    photo = np.asarray(photo, np.float64)
    if photo.ndim != 3 or photo.shape[-1] != 3:
        raise ValueError(f"photo must be RGB (H, W, 3), got shape {photo.shape}.")
    if num_frames < 2:
        raise ValueError(f"num_frames must be at least 2, got {num_frames}.")
    if not 0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5), got {margin}.")
    if blur:
        photo = require("scipy.ndimage").gaussian_filter(photo, (blur, blur, 0))
    rng = np.random.default_rng(seed)
    height, width = photo.shape[:2]
    size = np.array([height, width], np.float64)
    frame_size = np.maximum(np.round(size * (1 - 2 * margin)).astype(int), 1)
    center_photo, center_frame = (size - 1) / 2, (frame_size - 1) / 2
    pan_limit = (size - 1) / 2 - center_frame  # Pan range at zoom 1 (zooming in only shrinks the view).
    pan, zoom = np.zeros(2), 1.0
    cameras = []
    for index in range(num_frames):
        if index:
            pan = np.clip(pan + rng.uniform(-max_shift, max_shift, 2), -pan_limit, pan_limit)
            zoom *= 1 + rng.uniform(0, max_zoom)
        cameras.append(_camera(center_photo, center_frame, pan, zoom))
    frames = np.stack([_resample(photo, camera, frame_size, order) for camera in cameras])
    frames = frames.astype(np.float32)
    if noise:
        frames += rng.normal(0.0, noise, frames.shape).astype(np.float32)
    np.clip(frames, 0.0, 255.0, out=frames)
    motions = [np.linalg.inv(cameras[t]) @ cameras[t + 1] for t in range(num_frames - 1)]
    return frames, motions


def warping_error(frames, motions, border=2, order=3):
    """Mean squared warping error E of a clip (module docstring), values / 255.

    Args:
        frames: (T, H, W, C) in [0, 255].
        motions: T − 1 motions, motion t from frame t onto frame t+1.
        border: pixels kept away from the frame edge (see `valid_mask`).
        order: spline order of `warp`.

    Returns:
        float: E averaged over the T − 1 consecutive pairs.
    """
    frames = np.asarray(frames, np.float64) / 255.0
    if len(frames) != len(motions) + 1:
        raise ValueError(f"{len(frames)} frames need {len(frames) - 1} motions, got {len(motions)}.")
    errors = []
    for t, motion in enumerate(motions):
        mask = valid_mask(frames[t].shape, motion, border)
        if not mask.any():
            raise ValueError(f"frames {t} and {t + 1} do not overlap.")
        difference = warp(frames[t], motion, order) - frames[t + 1]
        errors.append(float(np.mean(np.square(difference[mask]))))
    return float(np.mean(errors))


def flicker(stylize_fn, photo, num_frames=8, **clip_options):
    """Flicker of a stylisation on a synthetic clip of `photo`.

    Args:
        stylize_fn: callable RGB (h, w, 3) float32 in [0, 255] → stylised
            image of the same size (e.g. `lambda f: stylize_image(f, stylizer)`).
        photo: RGB (H, W, 3) in [0, 255].
        num_frames: frames of the clip.
        **clip_options: `synthetic_clip` options (max_shift, max_zoom, noise,
            blur, margin, seed).

    Returns:
        {"flicker_warp_error": E of the stylised frames,
         "flicker_input_error": E of the input frames,
         "flicker_ratio": their ratio} (lower is steadier).
    """
    frames, motions = synthetic_clip(photo, num_frames, **clip_options)
    stylized = np.stack(
        [np.clip(np.asarray(stylize_fn(frame), np.float32), 0.0, 255.0) for frame in frames]
    )
    if stylized.shape != frames.shape:
        raise ValueError(f"stylize_fn changed the frame shape {frames.shape[1:]} to {stylized.shape[1:]}.")
    stylized_error = warping_error(stylized, motions)
    input_error = warping_error(frames, motions)
    return {
        "flicker_warp_error": stylized_error,
        "flicker_input_error": input_error,
        "flicker_ratio": stylized_error / input_error if input_error > 0 else float("nan"),
    }
