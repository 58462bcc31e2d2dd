/**
 * Child process of the fuzz harness: runs the cases its parent sends ({parser, seed, index}) one
 * at a time and answers each with its outcome. The parent decides hangs (no answer in time) and
 * crashes (the process died).
 */
import { runFuzzCase, type FuzzParser } from './fuzz_cases';
import '../src/backends';

process.on('message', (msg: { parser: FuzzParser; seed: number; index: number }) => {
  void runFuzzCase(msg.parser, msg.seed, msg.index).then((res) => process.send?.({ index: msg.index, ...res }));
});
process.send?.({ ready: true });
