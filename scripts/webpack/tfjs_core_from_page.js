// dist/loom.js resolves `@tensorflow/tfjs-core` (imported by the wasm / webgpu backends) here:
// the page's `tf` global when present (it re-exports tfjs-core), else the bundled copy.
const page = typeof globalThis !== 'undefined' ? globalThis.tf : undefined;
module.exports = page && page.version && page.version.tfjs && page.layers ? page : require('@tensorflow/tfjs-core/dist/index.js');
