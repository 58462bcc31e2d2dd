// The demo pages: dist/web/{inference,example,all_layers_test}.html with their bundles, the
// generation Web Worker, tfjs's wasm binaries, the built-in model and the LOOM sample files.
// Included by the root webpack.config.js: (common, wasmFiles, wasmDist) => webpack config.
// LOOM_WEB_OUT: another output folder (the browser tests build a production copy there).
const path = require('path');
const CopyPlugin = require('copy-webpack-plugin');

module.exports = (common, wasmFiles, wasmDist) => {
  const root = path.join(__dirname, '..', '..');
  const out = process.env.LOOM_WEB_OUT ? path.resolve(process.env.LOOM_WEB_OUT) : path.join(root, 'dist', 'web');
  return {
    ...common,
    name: 'pages',
    entry: {
      inference: path.join(__dirname, 'inference.ts'),
      inference_worker: path.join(__dirname, 'inference_worker.ts'),
      example: path.join(__dirname, 'example.ts'),
      all_layers_test: path.join(__dirname, 'all_layers_test.ts'),
    },
    output: { path: out, filename: '[name].js', clean: true },
    plugins: [
      new CopyPlugin({
        patterns: [
          ...wasmFiles.map((f) => ({ from: path.join(wasmDist, f), to: f })),
          { from: path.join(root, 'src', 'kernels', 'loom_kernels.wasm'), to: 'loom_kernels.wasm' },
          ...['inference.html', 'example.html', 'all_layers_test.html', 'index.html', 'styles.css'].map((f) => ({ from: path.join(__dirname, f), to: f })),
          { from: path.join(__dirname, 'samples'), to: 'samples' },
          { from: path.join(root, 'models', 'builtin'), to: path.join('models', 'builtin') },
        ],
      }),
    ],
  };
};
