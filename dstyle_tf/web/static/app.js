// The page: controls, pictures and messages, and window.dstyle, the hook
// that tests and the benchmark read exact pixels through.

import {Engine} from './engine.js';
import {cameraFrame, hasCamera, openPhoto, PhotoError, pixelsOf, startCamera} from './images.js';
import * as pixels from './pixels.js';

const $ = (id) => document.getElementById(id);
const state = {site: null, engine: null, photo: null, busy: false, pending: false,
  stopCamera: null, download: null};
const hook = {results: 0, events: 0, firstResultAt: null, last: null};

/** Stylises RGBA pixels (ImageData-like, at most the networks' size):
 * {width, height, photo, output (float32 RGB), ms (all of it), networkMs (the
 * networks alone, loading included), backend, styles, strength}. */
async function stylize(image, options) {
  const {width, height} = image;
  const size = state.site.size;
  if (width > size || height > size) {
    throw new Error(`The image is ${width} × ${height}; the networks take at most ${size} × ${size}.`);
  }
  const photo = pixels.rgbFromRgba(image.data, width, height);
  const weights = pixels.normalise(options.styles);
  const started = performance.now();
  let output = photo;
  let backend = null;
  let networkMs = 0;
  if (options.strength > 0) {
    const padded = pixels.padSymmetric(photo, width, height, size);
    const outputs = [];
    for (const [style] of weights) {
      const networkStarted = performance.now();
      const result = await state.engine.run(style, padded, options.backend);
      networkMs += performance.now() - networkStarted;
      outputs.push(pixels.crop(result.output, size, width, height));
      backend = result.backend;
    }
    output = pixels.combine(photo, outputs, weights.map(([, weight]) => weight), options.strength);
  }
  return {width, height, photo, output, ms: performance.now() - started, networkMs, backend,
    styles: Object.fromEntries(weights), strength: options.strength};
}

function encode(result) {
  return {
    width: result.width, height: result.height, ms: result.ms, networkMs: result.networkMs,
    backend: result.backend,
    styles: result.styles, strength: result.strength,
    photo: pixels.toBase64(Uint8Array.from(result.photo)),
    output: pixels.toBase64(result.output),
  };
}

function controls() {
  const style = $('style').value;
  const blend = $('blend').value;
  const share = Number($('blend-weight').value) / 100;
  const styles = blend && blend !== style ? {[style]: 1 - share, [blend]: share} : {[style]: 1};
  return {styles, strength: Number($('strength').value) / 100,
    maxSize: Number($('max-size').value), backend: $('backend').value};
}

function setStatus(name, text) {
  document.body.dataset.state = name;
  $('status').textContent = text;
}

function showError(error) {
  const message = error instanceof PhotoError ? error.message : `Error: ${error.message || error}`;
  $('message').textContent = message;
  $('message').hidden = false;
  setStatus('error', state.photo ? 'The last good photo is still loaded.' : 'Choose a photo.');
  hook.events += 1;
}

function draw(canvas, rgb, width, height) {
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('2d').putImageData(
      new ImageData(pixels.rgbaFromRgb(rgb, width, height), width, height), 0, 0);
}

function show(result) {
  draw($('original'), result.photo, result.width, result.height);
  draw($('result'), result.output, result.width, result.height);
  const names = Object.entries(result.styles)
      .map(([style, weight]) => (weight === 1 ? style : `${style} ${Math.round(100 * weight)}%`));
  $('result-caption').textContent = `${names.join(' + ')}, strength ${Math.round(100 * result.strength)}%`;
  const seconds = (result.ms / 1000).toFixed(2);
  const first = hook.results === 0 ? ' (the first run includes loading the network)' : '';
  setStatus('done', `Stylised ${result.width} × ${result.height} px in ${seconds} s on ` +
      `${result.backend || 'no network (strength 0)'}${first}.`);
  $('backend-used').textContent = result.backend || '';
  hook.results += 1;
  hook.events += 1;
  hook.firstResultAt = hook.firstResultAt ?? performance.now();
  hook.last = result;
  $('result').toBlob((blob) => {
    if (state.download) URL.revokeObjectURL(state.download);
    state.download = URL.createObjectURL(blob);
    const link = $('download');
    link.href = state.download;
    link.download = `${state.photo.name.replace(/\.[^.]*$/, '')}_${names.join('+').replace(/[ %]/g, '')}.png`;
    link.hidden = false;
  }, 'image/png');
}

/** Stylises the current photo with the current controls; changes made while
 * it runs start one more run when it ends. */
async function refresh() {
  if (!state.photo) return;
  if (state.busy) {
    state.pending = true;
    return;
  }
  state.busy = true;
  try {
    do {
      state.pending = false;
      const options = controls();
      const image = pixelsOf(state.photo, Math.min(options.maxSize, state.site.size));
      setStatus('working', `Stylising ${image.width} × ${image.height} px ...`);
      show(await stylize(image, options));
      $('message').hidden = true;
    } while (state.pending);
  } catch (error) {
    showError(error);
  } finally {
    state.busy = false;
  }
}

async function usePhoto(open) {
  try {
    const photo = await open();
    if (state.photo) state.photo.release();
    state.photo = photo;
  } catch (error) {
    showError(error);
    return;
  }
  await refresh();
}

function fillSelect(select, entries) {
  for (const [value, label] of entries) select.add(new Option(label, value));
}

function setUpControls(site) {
  const names = site.styles.map((style) => [style.name, `${style.name} — ${style.painting}`]);
  fillSelect($('style'), names);
  fillSelect($('blend'), [['', 'none'], ...names]);
  const sizes = [64, 128, 256, 384, 512, 768, 1024].filter((side) => side < site.size);
  fillSelect($('max-size'), [...sizes, site.size].map((side) => [side, `${side} px`]));
  $('max-size').value = String(site.size);
  const thumbnail = () => {
    const entry = site.styles.find((style) => style.name === $('style').value);
    $('style-thumbnail').hidden = !entry.thumbnail;
    if (entry.thumbnail) $('style-thumbnail').src = entry.thumbnail;
  };
  thumbnail();
  const sliders = () => {
    $('blend-weight').disabled = !$('blend').value;
    $('blend-weight-value').textContent = `${$('blend-weight').value}%`;
    $('strength-value').textContent = `${$('strength').value}%`;
  };
  sliders();
  $('style').addEventListener('change', () => (thumbnail(), refresh()));
  for (const id of ['blend', 'blend-weight', 'strength', 'max-size', 'backend']) {
    $(id).addEventListener('change', () => (sliders(), refresh()));
    $(id).addEventListener('input', sliders);
  }
  $('runtime').textContent = Object.entries(site.runtime).map(([name, v]) => `${name} ${v}`).join(', ');
}

// Set up as the module runs, before site.json arrives: a photo chosen at once
// waits for it instead of being missed.
function setUpPhotoInputs() {
  const take = (file) => usePhoto(async () => openPhoto(file, (await ready).max_pixels));
  $('file').addEventListener('change', () => {
    const file = $('file').files[0];
    $('file').value = '';  // the same file can be chosen again
    if (file) take(file);
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    const file = event.dataTransfer.files[0];
    if (file) take(file);
  });
  if (!hasCamera()) return;
  $('camera-start').hidden = false;
  $('camera-start').addEventListener('click', async () => {
    try {
      state.stopCamera = await startCamera($('video'));
      $('camera').hidden = false;
    } catch (error) {
      showError(error);
    }
  });
  const stop = () => {
    if (state.stopCamera) state.stopCamera();
    state.stopCamera = null;
    $('camera').hidden = true;
  };
  $('camera-take').addEventListener('click', () => {
    const open = async () => cameraFrame($('video'));
    usePhoto(open).finally(stop);
  });
  $('camera-stop').addEventListener('click', stop);
}

async function main() {
  const response = await fetch('site.json');
  if (!response.ok) throw new Error(`site.json: HTTP ${response.status}`);
  const site = await response.json();
  state.site = site;
  state.engine = new Engine(site);
  setUpControls(site);
  setStatus('ready', 'Loading the runtime and the first network ...');
  // Load the runtime and the first network while the user picks a photo.
  state.engine.network(site.styles[0].name).then(
      () => state.photo || setStatus('ready', 'Ready: choose or drop a photo.'), showError);
  return site;
}

const ready = main();
ready.catch(showError);
setUpPhotoInputs();

window.dstyle = {
  ready,
  /** Results shown so far; results and messages shown so far; when the
   * first result was shown (ms since navigation). */
  get results() { return hook.results; },
  get events() { return hook.events; },
  get firstResultAt() { return hook.firstResultAt; },
  get loadMs() { return state.engine && state.engine.loadMs; },
  /** The last result shown, pixels as base64: photo (uint8 RGB, what the
   * networks got) and output (float32 RGB, before rounding for display). */
  last: () => (hook.last ? encode(hook.last) : null),
  /** Stylises base64 RGBA pixels without touching the page:
   * stylize({width, height, rgba}, {styles: {name: weight}, strength, backend}). */
  stylize: async (image, options = {}) => {
    await ready;
    const data = new Uint8ClampedArray(pixels.fromBase64(image.rgba).buffer);
    const result = await stylize({width: image.width, height: image.height, data},
        {styles: {[state.site.styles[0].name]: 1}, strength: 1, backend: 'auto', ...options});
    return encode(result);
  },
};
