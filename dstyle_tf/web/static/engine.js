// LiteRT.js: loads the runtime once, compiles each style's network once per
// accelerator, and runs a network on one padded image.

import {getGlobalLiteRt, loadAndCompile, loadLiteRt, supportsFeature, Tensor}
  from './vendor/litertjs/core.js';

const WASM_DIR = './vendor/litertjs/wasm/';

export class Engine {
  /** site: the parsed site.json (size, styles). */
  constructor(site) {
    this.site = site;
    this.compiled = new Map();
    this.loading = null;
    this.threads = 1;
    this.loadMs = {};  // what loading took: runtime, and each network
  }

  /** Loads the runtime (once): its threaded build where the page is
   * cross-origin isolated (WebAssembly threads need that), else one thread. */
  start() {
    if (!this.loading) {
      this.loading = this.load().catch((error) => {
        this.loading = null;
        throw new Error(`The LiteRT.js runtime did not load (${error.message || error}).`);
      });
    }
    return this.loading;
  }

  async load() {
    const started = performance.now();
    const threads = self.crossOriginIsolated && await supportsFeature('relaxedSimd') &&
        await supportsFeature('threads');
    await loadLiteRt(WASM_DIR, {threads});
    this.threads = getGlobalLiteRt().liteRtWasm.getThreadCount();
    this.loadMs.runtime = performance.now() - started;
  }

  /** 'webgpu' or 'wasm' for a preference ('auto', 'wasm' or 'webgpu'). */
  accelerator(preference) {
    if (preference === 'wasm') return 'wasm';
    const hasGpu = Boolean(getGlobalLiteRt().getWebGpuDevice());
    if (preference === 'webgpu' && !hasGpu) {
      throw new Error('WebGPU is not available in this browser: choose auto or WebAssembly.');
    }
    return hasGpu ? 'webgpu' : 'wasm';
  }

  /** The compiled network of a style (loaded and compiled on first use). */
  async network(style, preference = 'auto') {
    await this.start();
    const accelerator = this.accelerator(preference);
    const key = `${style}/${accelerator}`;
    if (!this.compiled.has(key)) {
      const entry = this.site.styles.find((candidate) => candidate.name === style);
      if (!entry) throw new Error(`No network for the style ${style}.`);
      const started = performance.now();
      let compiling = loadAndCompile(entry.model, {accelerator, gpuOptions: {precision: 'fp32'}});
      if (accelerator === 'webgpu' && preference === 'auto') {
        // A network the GPU cannot take still runs, on the CPU.
        compiling = compiling.catch((error) => {
          console.warn(`WebGPU could not compile ${style} (${error.message}); using WebAssembly.`);
          return loadAndCompile(entry.model, {accelerator: 'wasm'});
        });
      }
      compiling = compiling.then((model) => {
        this.loadMs[key] = performance.now() - started;
        return model;
      });
      compiling.catch(() => this.compiled.delete(key));
      this.compiled.set(key, compiling);
    }
    return this.compiled.get(key);
  }

  /** Which backend a compiled network runs on, e.g. "wasm (2 threads)". */
  backend(model) {
    const accelerator = model.options.accelerator;
    if (accelerator !== 'wasm') return accelerator;
    return `wasm (${this.threads} thread${this.threads === 1 ? '' : 's'})`;
  }

  /** Runs a style's network on a float32 RGB size × size image; resolves to
   * {output (Float32Array, same layout), backend}. */
  async run(style, input, preference = 'auto') {
    const model = await this.network(style, preference);
    const size = this.site.size;
    const tensor = new Tensor(input, [1, size, size, 3]);
    let outputs;
    try {
      outputs = await model.run([tensor]);
    } finally {
      tensor.delete();
    }
    try {
      const data = await outputs[0].data();
      return {output: new Float32Array(data), backend: this.backend(model)};
    } finally {
      for (const output of outputs) output.delete();
    }
  }
}
