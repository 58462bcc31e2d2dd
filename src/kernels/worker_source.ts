/**
 * The kernel pool's worker script, as source text: a real script (run by `new Worker(src, { eval: true })`
 * in Node, or from a Blob URL in a browser), never a serialized function, so bundlers and minifiers
 * cannot break it. Each worker instantiates the kernel module over the shared memory with its own
 * stack, then loops: spin on the pool's generation word for `spinMs` after its last job (so the
 * back-to-back calls of a decode step, with the caller's small ops between them, find it awake),
 * sleep in `Atomics.wait` when nothing comes, and claim chunks of the open job with `loom_pool_work`.
 *
 * workerData / first message: { module, memory, stackTop, ctlPtr, jobPtr, spinMs }.
 * Control words at ctlPtr (int32): [0] generation (bumped per job), [1] stop flag.
 */
export const KERNEL_WORKER_SOURCE = `'use strict';
(function () {
  function start(d, post) {
    var inst = new WebAssembly.Instance(d.module, { env: { memory: d.memory } });
    inst.exports.__stack_pointer.value = d.stackTop;
    var ctl = new Int32Array(d.memory.buffer, d.ctlPtr, 2);
    var work = inst.exports.loom_pool_work;
    var seen = Atomics.load(ctl, 0);
    post('ready');
    for (;;) {
      var g = Atomics.load(ctl, 0);
      if (g === seen) {
        var until = performance.now() + d.spinMs;
        do {
          for (var i = 0; g === seen && i < 256; i++) g = Atomics.load(ctl, 0);
        } while (g === seen && performance.now() < until);
      }
      if (g === seen) {
        Atomics.wait(ctl, 0, seen);
        continue;
      }
      seen = g;
      if (Atomics.load(ctl, 1) !== 0) break;
      work(d.jobPtr);
    }
    post('stopped');
  }
  if (typeof self === 'undefined' && typeof require === 'function') {
    var wt = require('worker_threads');
    start(wt.workerData, function (m) { wt.parentPort.postMessage(m); });
  } else {
    self.onmessage = function (e) { start(e.data, function (m) { self.postMessage(m); }); };
  }
})();
`;
