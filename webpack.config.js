// Browser bundles: dist/loom.js (LOOM drop-in: script tag installs LOOM's globals) and the demo
// pages (dist/web/*.html). tfjs's wasm binaries are copied next to the bundles.
const path = require('path');
const fs = require('fs');
const CopyPlugin = require('copy-webpack-plugin');

const wasmDist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
const webDir = path.join(__dirname, 'examples', 'web');

const common = {
  mode: process.env.NODE_ENV === 'development' ? 'development' : 'production',
  devtool: false,
  resolve: {
    extensions: ['.ts', '.js'],
    fallback: { fs: false, path: false, os: false, crypto: false, url: false, util: false, 'node:util': false, 'fs/promises': false, worker_threads: false },
  },
  module: {
    rules: [{ test: /\.ts$/, loader: 'ts-loader', options: { transpileOnly: true, configFile: 'tsconfig.build.json' }, exclude: /node_modules/ }],
  },
  performance: { hints: false },
  externalsPresets: { web: true },
};

const wasmFiles = fs.readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'));

module.exports = [
  {
    ...common,
    name: 'loom',
    entry: { loom: './src/compat/browser_entry.ts' },
    // a page that loaded tf.min.js first shares its tfjs with loom.js (see scripts/webpack/)
    resolve: {
      ...common.resolve,
      alias: {
        '@tensorflow/tfjs$': path.join(__dirname, 'scripts', 'webpack', 'tfjs_from_page.js'),
        '@tensorflow/tfjs-core$': path.join(__dirname, 'scripts', 'webpack', 'tfjs_core_from_page.js'),
      },
    },
    output: { path: path.join(__dirname, 'dist'), filename: '[name].js' },
    plugins: [new CopyPlugin({ patterns: [...wasmFiles.map((f) => ({ from: path.join(wasmDist, f), to: f })), { from: path.join(__dirname, 'src', 'kernels', 'loom_kernels.wasm'), to: 'loom_kernels.wasm' }] })],
  },
  ...(fs.existsSync(path.join(webDir, 'webpack.pages.js')) ? [require(path.join(webDir, 'webpack.pages.js'))(common, wasmFiles, wasmDist)] : []),
];
