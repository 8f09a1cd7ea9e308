"""A screenshot of the page with a result, for the README.

    python -m dstyle_tf.web --screenshot=docs/images/web_page.png [--photo=astronaut]

The photo is a file, or the name of one of scikit-image's sample photos
(`skimage.data.<name>()`, the `eval` extra).
"""

import io
import os

import numpy as np

from dstyle_tf import atomic
from dstyle_tf.errors import UserError
from dstyle_tf.web import browser as browser_lib
from dstyle_tf.web.benchmark import choose_photo
from dstyle_tf.web.benchmark import png_bytes

# 256 colours keep a screenshot of two photos near 200 KB as PNG.
PALETTE_COLOURS = 256


def photo_bytes(photo):
    """(file name, bytes) of a photo file, or of scikit-image's sample `photo`."""
    if os.path.isfile(photo):
        with open(photo, "rb") as f:
            return os.path.basename(photo), f.read()
    try:
        from skimage import data
    except ImportError:
        raise UserError(f"--photo {photo!r} is not a file, and scikit-image (for its sample "
                        "photos) is not installed: pip install scikit-image.") from None
    sample = getattr(data, photo, None)
    if not callable(sample):
        raise UserError(f"--photo {photo!r} is neither a file nor a scikit-image sample photo "
                        "(astronaut, coffee, chelsea, ...).")
    image = np.asarray(sample())
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    return f"{photo}.png", png_bytes(image[..., :3])


def take(site_dir, path, photo="astronaut", style=None, viewport=(960, 760)):
    """Opens the site in headless Chromium, stylises `photo` with `style`
    (default: the first), and saves the page as a PNG of at most 256 colours."""
    from PIL import Image

    name, data = photo_bytes(photo)
    with browser_lib.chromium() as browser, browser_lib.served(site_dir) as address:
        page = browser_lib.open_page(browser, address, viewport)
        if style:
            page.select_option("#style", style)
        state = browser_lib.settle(page, lambda: choose_photo(page, name, data))
        if state != "done":
            raise UserError(f"the page did not stylise {name}: {page.text_content('#message')}")
        image = Image.open(io.BytesIO(page.screenshot(full_page=True)))
    image = image.convert("RGB").quantize(PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic.replacing(path, suffix=".png") as temporary:
        image.save(temporary, optimize=True)
    return path
