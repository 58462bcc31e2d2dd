/**
 * Widens packed weights (bf16 / q8 / q4, see quantize.ts) back to float32: for the tfjs
 * fallback path of a backend the kernels do not serve, for `loom info`-style inspection,
 * and as the reference the kernels are tested against.
 */
import { ShapeError } from '../core/errors';
import { bf16ToF32, blocksPerRow, QUANT_BLOCK, type PackedWeight } from './quantize';

/**
 * Row `row` of a packed matrix as float32 values, written into `out` (cols long).
 * Values are q * scale rounded once to float32 (what the kernels' embedding gather returns).
 * @throws ShapeError when `row` is out of range or `out` is shorter than a row.
 */
export function dequantizeRow(w: PackedWeight, row: number, out: Float32Array): Float32Array {
  const { rows, cols } = w;
  if (!Number.isInteger(row) || row < 0 || row >= rows) {
    throw new ShapeError(`dequantizeRow: row ${row} is out of range, expected 0 <= row < ${rows}`);
  }
  if (out.length < cols) throw new ShapeError(`dequantizeRow: output has ${out.length} values, expected >= ${cols}`);
  const nb = blocksPerRow(cols);
  switch (w.dtype) {
    case 'bf16':
      for (let c = 0; c < cols; c++) out[c] = bf16ToF32(w.bits[row * cols + c] as number);
      break;
    case 'q8':
      for (let c = 0; c < cols; c++) {
        out[c] = (w.q[row * cols + c] as number) * (w.scales[row * nb + ((c / QUANT_BLOCK) | 0)] as number);
      }
      break;
    case 'q4':
      for (let c = 0; c < cols; c++) {
        const b = (c / QUANT_BLOCK) | 0;
        const j = c % QUANT_BLOCK;
        const byte = w.q[(row * nb + b) * 16 + (j & 15)] as number;
        const nibble = j < 16 ? byte & 0x0f : byte >> 4;
        out[c] = (nibble - 8) * (w.scales[row * nb + b] as number);
      }
      break;
  }
  return out;
}

/** The whole packed matrix as float32 (rows, cols). */
export function dequantize(w: PackedWeight): Float32Array {
  const out = new Float32Array(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++) dequantizeRow(w, r, out.subarray(r * w.cols, (r + 1) * w.cols));
  return out;
}
