#!/usr/bin/env node
// Builds src/kernels/c/*.c into ONE freestanding wasm32 module, src/kernels/loom_kernels.wasm.
//
// Pinned compiler: Debian bookworm's clang 14 + lld 14 (`apt-get install -y clang-14 lld-14`;
// clang 14.0.6, wasm-ld 14). Other versions produce different (valid) bytes, so the build refuses
// them unless LOOM_ALLOW_ANY_CLANG=1. The output is deterministic: fixed file order, no debug info,
// no paths in the module, names stripped. The built .wasm is committed so `npm ci` needs no compiler.
//
//   npm run build:kernels              rebuild src/kernels/loom_kernels.wasm
//   npm run build:kernels -- --check   rebuild into a temp file and fail if its bytes differ (CI)
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(ROOT, 'src', 'kernels', 'c');
const OUT = path.join(ROOT, 'src', 'kernels', 'loom_kernels.wasm');
const CLANG = process.env.CLANG || (hasCmd('clang-14') ? 'clang-14' : 'clang');
// clang 14 runs binaryen's wasm-opt after linking whenever one is on PATH (no flag turns that off
// before clang 16; it also looks next to its own binary, hence the real path /usr/lib/llvm-14/bin/clang):
// clang runs with a PATH that holds only links to wasm-ld, so the bytes
// do not depend on whether (or which) binaryen is installed.
function which(cmd) {
  return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
}
function toolDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-clang-'));
  const ld = which(hasCmd('wasm-ld-14') ? 'wasm-ld-14' : 'wasm-ld');
  for (const name of ['wasm-ld-14', 'wasm-ld']) fs.symlinkSync(ld, path.join(dir, name));
  return dir;
}
const PINNED = /clang version 14\.0\.6/;

function hasCmd(cmd) {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const FLAGS = [
  '--target=wasm32', '-O3', '-ffreestanding', '-nostdlib', '-fvisibility=hidden', '-fno-builtin-memset',
  '-msimd128', '-matomics', '-mbulk-memory', '-mmutable-globals', '-mnontrapping-fptoint', '-mno-exception-handling',
  '-g0', '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter',
  '-Wl,--no-entry', '-Wl,--export-dynamic', '-Wl,--export=__stack_pointer', '-Wl,--export=__heap_base',
  '-Wl,--import-memory', '-Wl,--shared-memory', '-Wl,--max-memory=4294967296', '-Wl,--initial-memory=1048576',
  '-Wl,-z,stack-size=131072', '-Wl,--strip-all',
];

function build(out) {
  const version = execFileSync(CLANG, ['--version'], { encoding: 'utf8' });
  if (!PINNED.test(version) && process.env.LOOM_ALLOW_ANY_CLANG !== '1') {
    throw new Error(`build:kernels: ${CLANG} is not the pinned clang 14.0.6 (Debian clang-14); got: ${version.split('\n')[0]}`);
  }
  const files = fs.readdirSync(SRC).filter((f) => f.endsWith('.c')).sort();
  // Relative paths (cwd = SRC) so nothing machine-specific can reach the module.
  const tools = toolDir();
  try {
    execFileSync(fs.realpathSync(which(CLANG)), [...FLAGS, '-o', out, ...files], { cwd: SRC, stdio: 'inherit', env: { ...process.env, PATH: tools } });
  } finally {
    fs.rmSync(tools, { recursive: true, force: true });
  }
  return files;
}

const check = process.argv.includes('--check');
if (check) {
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'loom-kernels-')), 'loom_kernels.wasm');
  build(tmp);
  const a = fs.readFileSync(tmp);
  const b = fs.existsSync(OUT) ? fs.readFileSync(OUT) : Buffer.alloc(0);
  if (!a.equals(b)) {
    console.error(`build:kernels --check: rebuilt module (${a.length} bytes) differs from the committed ${path.relative(ROOT, OUT)} (${b.length} bytes); run npm run build:kernels and commit it`);
    process.exit(1);
  }
  console.log(`build:kernels --check: ${path.relative(ROOT, OUT)} matches its sources (${a.length} bytes)`);
} else {
  const files = build(OUT);
  console.log(`build:kernels: ${files.join(' ')} -> ${path.relative(ROOT, OUT)} (${fs.statSync(OUT).size} bytes)`);
}
