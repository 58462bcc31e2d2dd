// dist/loom.js resolves `@tensorflow/tfjs` here: the page's `tf` global when a tfjs script tag
// came first (one tfjs, one kernel registry, LOOM layers usable in the page's tf.sequential),
// else the bundled copy, evaluated only then.
const page = typeof globalThis !== 'undefined' ? globalThis.tf : undefined;
module.exports = page && page.version && page.version.tfjs && page.layers ? page : require('@tensorflow/tfjs/dist/index.js');
