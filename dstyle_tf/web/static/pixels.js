// Pixel arithmetic of the page, step for step as dstyle_tf does it in Python
// (image_io.scaled_size, Stylizer.__call__'s padding, StyleSetStylizer's blend,
// stylization.image.apply_strength), so the page's numbers are Python's.

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(value) {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** [width, height] with the longer side at most maxSide (image_io.scaled_size). */
export function scaledSize(width, height, maxSide) {
  if (!maxSide || Math.max(width, height) <= maxSide) return [width, height];
  const scale = maxSide / Math.max(width, height);
  return [Math.max(1, roundHalfEven(width * scale)), Math.max(1, roundHalfEven(height * scale))];
}

/** RGBA bytes (ImageData.data) as float32 RGB, row-major (H, W, 3). */
export function rgbFromRgba(rgba, width, height) {
  const rgb = new Float32Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    rgb[3 * i] = rgba[j];
    rgb[3 * i + 1] = rgba[j + 1];
    rgb[3 * i + 2] = rgba[j + 2];
  }
  return rgb;
}

/** RGB floats as RGBA bytes for a canvas (rounded half to even, clipped, opaque). */
export function rgbaFromRgb(rgb, width, height) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    rgba[j] = rgb[3 * i];
    rgba[j + 1] = rgb[3 * i + 1];
    rgba[j + 2] = rgb[3 * i + 2];
    rgba[j + 3] = 255;
  }
  return rgba;
}

// numpy.pad(mode="symmetric") index: the edge pixel repeated, then mirrored,
// periodic with period 2n for pads longer than the image.
function mirror(index, length) {
  const period = index % (2 * length);
  return period < length ? period : 2 * length - 1 - period;
}

/** The image padded at its bottom and right to size × size by mirroring, as
 * the Python stylizers pad a photo for a fixed-size network. */
export function padSymmetric(rgb, width, height, size) {
  const padded = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const row = mirror(y, height) * width;
    for (let x = 0; x < size; x++) {
      const from = 3 * (row + mirror(x, width));
      const to = 3 * (y * size + x);
      padded[to] = rgb[from];
      padded[to + 1] = rgb[from + 1];
      padded[to + 2] = rgb[from + 2];
    }
  }
  return padded;
}

/** The top-left width × height of a size × size RGB image. */
export function crop(rgb, size, width, height) {
  const out = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    out.set(rgb.subarray(3 * y * size, 3 * (y * size + width)), 3 * y * width);
  }
  return out;
}

/** Σ weight · output (each style's network, weights summing to 1), clipped to
 * [0, 255], then faded into the photo: (1 − strength) · photo + strength · that. */
export function combine(photo, outputs, weights, strength) {
  const out = new Float32Array(photo.length);
  for (let i = 0; i < out.length; i++) {
    let value = 0;
    for (let k = 0; k < outputs.length; k++) value += weights[k] * outputs[k][i];
    value = Math.min(255, Math.max(0, value));
    out[i] = strength === 1 ? value : (1 - strength) * photo[i] + strength * value;
  }
  return out;
}

/** [[style, weight], ...] with the positive weights divided by their sum. */
export function normalise(weights) {
  const positive = Object.entries(weights).filter(([, weight]) => weight > 0);
  const total = positive.reduce((sum, [, weight]) => sum + weight, 0);
  if (!positive.length || !(total > 0)) throw new Error('Choose a style (a weight above 0).');
  return positive.map(([style, weight]) => [style, weight / total]);
}

/** A typed array's bytes as base64 (for tests reading exact pixels). */
export function toBase64(array) {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

/** base64 bytes as a Uint8Array. */
export function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
