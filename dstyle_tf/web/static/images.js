// Photos into pixels: files (chosen or dropped) and camera frames, checked
// before anything large is decoded.

import {scaledSize} from './pixels.js';

/** A photo the page cannot take; its message is for the user. */
export class PhotoError extends Error {}

function megapixels(pixels) {
  return (pixels / 1e6).toFixed(pixels < 1e7 ? 1 : 0);
}

/**
 * Opens an image file: {source, width, height, name}. The size is read before
 * the pixels are decoded (an <img> knows its size once loaded; it decodes
 * when drawn), so a huge photo is refused without taking the memory.
 */
export async function openPhoto(file, maxPixels) {
  const name = file.name || 'the file';
  const url = URL.createObjectURL(file);
  const image = new Image();
  try {
    await new Promise((resolve, reject) => {
      image.onload = resolve;
      image.onerror = () => reject(new PhotoError(
          `${name} is not an image this browser can read (JPEG, PNG, WebP, GIF, ...).`));
      image.src = url;
    });
  } catch (error) {
    URL.revokeObjectURL(url);
    throw error;
  }
  const width = image.naturalWidth;
  const height = image.naturalHeight;
  if (!width || !height) {
    URL.revokeObjectURL(url);
    throw new PhotoError(`${name} has no pixels.`);
  }
  if (width * height > maxPixels) {
    URL.revokeObjectURL(url);
    throw new PhotoError(
        `${name} is ${width} × ${height} pixels (${megapixels(width * height)} megapixels); ` +
        `this page takes photos of up to ${megapixels(maxPixels)} megapixels: downscale it first.`);
  }
  return {source: image, width, height, name, release: () => URL.revokeObjectURL(url)};
}

/**
 * The photo's pixels with its longer side at most maxSide (ImageData, RGBA).
 * Transparency goes on white, as dstyle_tf's image loader puts it.
 */
export function pixelsOf(photo, maxSide) {
  const [width, height] = scaledSize(photo.width, photo.height, maxSide);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', {willReadFrequently: true});
  context.fillStyle = '#fff';
  context.fillRect(0, 0, width, height);
  context.imageSmoothingQuality = 'high';
  context.drawImage(photo.source, 0, 0, width, height);
  return context.getImageData(0, 0, width, height);
}

/** Whether this browser can offer the camera (it needs a secure context). */
export function hasCamera() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

/** Starts the camera into a <video>; returns a function that stops it. */
export async function startCamera(video) {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia(
        {video: {facingMode: 'environment', width: {ideal: 1280}}, audio: false});
  } catch (error) {
    throw new PhotoError(`The camera is not available (${error.name}: ${error.message}).`);
  }
  video.srcObject = stream;
  await video.play();
  return () => {
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
}

/** The camera's current frame as a photo (copied, so the camera can stop). */
export function cameraFrame(video) {
  const width = video.videoWidth;
  const height = video.videoHeight;
  if (!width || !height) throw new PhotoError('The camera has not delivered a picture yet.');
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('2d').drawImage(video, 0, 0);
  return {source: canvas, width, height, name: 'camera', release: () => {}};
}
