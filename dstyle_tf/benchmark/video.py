"""Video throughput: frames per second of the video command on a 640×360 clip.

A clip is filmed from one photo (scikit-image's astronaut, or a synthetic
photo without scikit-image) by `metrics.synthetic_clip`: sub-pixel pans, a
slow zoom and sensor noise, written as H.264 MP4. Each backend stylises the
whole clip with `stylization.stylize_files`, which is what
`python -m dstyle_tf.stylize --input=clip.mp4 --output=out.mp4` does once the
model is loaded (decode, colour conversion, network, encode), and
the network alone is timed on one frame; the difference per frame is the
cost of decoding and encoding. Passes over the clip are interleaved between
backends, like the inference section's calls.

Backends:

- `tflite_<variant>`: a TFLite model exported at the clip's frame size
  (`python -m export --tflite_size=360,640`), so every frame is one call;
- `tflite_<variant>_dynamic`: a dynamic-size export (`--tflite_dynamic`);
- `keras`: the `.keras` file; `saved_model`: the TF Serving export.
"""

import os
import tempfile
import time

import numpy as np

from dstyle_tf import data as data_lib
from dstyle_tf.stylization import stylizers
from dstyle_tf import video as video_lib
from dstyle_tf.benchmark import timing
from dstyle_tf.metrics.temporal import synthetic_clip
from dstyle_tf.stylization import stylize_files
from dstyle_tf.stylization import stylize_image

DEFAULT_BACKENDS = ("tflite_float32", "tflite_int8")
FRAME_SIZE = (640, 360)  # width, height
FRAMES = 48
FPS = 24
# The clip's camera keeps this fraction of the photo outside the frame.
_MARGIN = 0.1


def backends():
    """Every backend name this section knows."""
    from export import tflite as tflite_lib

    names = ["keras", "saved_model"]
    for variant in tflite_lib.VARIANTS:
        names += [f"tflite_{variant}", f"tflite_{variant}_dynamic"]
    return tuple(names)


def _photo(height, width):
    """An RGB photo of (height, width): the astronaut, cropped to that aspect."""
    from PIL import Image

    try:
        photo = data_lib.skimage_photo("astronaut")
    except Exception:  # scikit-image missing: any photo-like image times the same.
        photo = data_lib.synthetic_images(1, max(height, width), seed=0)[0]
    rows, columns = photo.shape[:2]
    if columns * height > rows * width:  # Too wide: keep the middle columns.
        keep = round(rows * width / height)
        photo = photo[:, (columns - keep) // 2:(columns + keep) // 2]
    else:
        keep = round(columns * height / width)
        photo = photo[(rows - keep) // 2:(rows + keep) // 2]
    picture = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8))
    return np.asarray(picture.resize((width, height), Image.LANCZOS), np.float32)


def clip_frames(width, height, num_frames, seed=0):
    """(num_frames, height, width, 3) float32 frames of a synthetic clip."""
    scale = 1 / (1 - 2 * _MARGIN)
    photo = _photo(round(height * scale), round(width * scale))
    frames, _ = synthetic_clip(photo, num_frames, max_shift=2.0, margin=_MARGIN, seed=seed)
    frames = frames[:, :height, :width]
    if frames.shape[1:3] != (height, width):
        raise ValueError(f"cannot film a {width}x{height} clip (got {frames.shape[2]}x{frames.shape[1]}).")
    return frames


def _model_files(model, backend_names, scratch, size, calibration_count):
    """{backend: path} of `model` saved or exported for each backend."""
    from export import exporter
    from export import saved_model as saved_model_lib
    from export import tflite as tflite_lib

    paths = {}
    if "keras" in backend_names:
        paths["keras"] = os.path.join(scratch, "transform_net.keras")
        model.save(paths["keras"])
    if "saved_model" in backend_names:
        paths["saved_model"] = os.path.join(scratch, "saved_model")
        saved_model_lib.save(model, paths["saved_model"])
    images = exporter.synthetic_images(calibration_count, *size, seed=1)
    for dynamic in (False, True):
        suffix = "_dynamic" if dynamic else ""
        variants = [v for v in tflite_lib.VARIANTS if f"tflite_{v}{suffix}" in backend_names]
        if variants:
            converted = tflite_lib.convert_all(
                model, scratch, variants, None if dynamic else size,
                representative_images=images, prefix=f"video{suffix}",
            )
            paths.update({f"tflite_{v}{suffix}": path for v, path in converted.items()})
    return paths


def run(model, backend_names=DEFAULT_BACKENDS, frame_size=FRAME_SIZE, num_frames=FRAMES,
        repeats=3, warmup=2, threads=0, calibration_count=8, log=print):
    """Frames/s of the whole video command and of the network alone, per backend.

    Args:
        model: the Keras TransformNet.
        backend_names: subset of `backends()`.
        frame_size: (width, height) of the clip.
        num_frames: frames of the clip.
        repeats: timed passes over the clip per backend (and 3× as many
            single-frame network calls).
        warmup: untimed single-frame calls per backend first.
        threads: TFLite interpreter threads (0: the runtime's default).
        calibration_count: synthetic images for int8 calibration.

    Returns:
        dict with `results` (one row per backend) and the clip's description.
    """
    unknown = set(backend_names) - set(backends())
    if unknown:
        raise ValueError(f"unknown video backends {', '.join(sorted(unknown))}.")
    width, height = frame_size
    with tempfile.TemporaryDirectory(prefix="dstyle_bench_video_") as scratch:
        log(f"video: filming a {num_frames}-frame {width}x{height} clip")
        frames = clip_frames(width, height, num_frames)
        clip = os.path.join(scratch, "clip.mp4")
        video_lib.write_frames(clip, frames, FPS)
        log(f"video: exporting {', '.join(backend_names)}")
        paths = _model_files(model, backend_names, scratch, (height, width), calibration_count)
        loaded = {
            name: stylizers.load_stylizer(paths[name], num_threads=threads or None).for_video()
            for name in backend_names
        }
        frame = frames[0]
        log(f"video: timing the network on one frame ({', '.join(loaded)}, interleaved)")
        network = timing.measure_interleaved(
            {name: (lambda s=s: stylize_image(frame, s)) for name, s in loaded.items()},
            3 * repeats, warmup,
        )

        cpu_seconds = {name: [] for name in loaded}

        def pass_over_clip(name, stylizer):
            output = os.path.join(scratch, f"out_{name}.mp4")
            start = time.process_time()
            failures = stylize_files([(clip, output)], stylizer, progress=False)
            cpu_seconds[name].append(time.process_time() - start)
            if failures:
                raise RuntimeError(f"{name}: {failures[0][1]}")

        log(f"video: timing {repeats} pass(es) over the clip per backend (interleaved)")
        clips = timing.measure_interleaved(
            {name: (lambda n=name, s=s: pass_over_clip(n, s)) for name, s in loaded.items()},
            repeats, 0,
        )
        rows = []
        for name in loaded:
            per_frame_ms = clips[name]["median_ms"] / num_frames
            rows.append({
                "backend": name,
                "width": width,
                "height": height,
                "frames": num_frames,
                "frames_per_s": timing.throughput(clips[name]["median_ms"], num_frames),
                "network_frames_per_s": timing.throughput(network[name]["median_ms"], 1),
                "network_ms": network[name]["median_ms"],
                "decode_encode_ms": per_frame_ms - network[name]["median_ms"],
                # CPU time of every thread of the process: less sensitive to other
                # processes than wall time (it counts spinning threads, though).
                "cpu_ms_per_frame": 1000 * float(np.median(cpu_seconds[name])) / num_frames,
                "file_bytes": os.path.getsize(paths[name]) if os.path.isfile(paths[name]) else None,
                "interpreter_threads": threads if name.startswith("tflite") else None,
                "clip": clips[name],
                "network": network[name],
            })
    return {
        "results": rows,
        "clip": f"{num_frames} frames {width}x{height} at {FPS} fps, H.264 (libx264 crf 18, "
                "medium) in and out, synthetic camera motion over one photo",
    }

