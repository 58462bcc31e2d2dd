/**
 * A first-fit allocator over the kernel module's shared `WebAssembly.Memory` (at most 4 GiB).
 * Blocks are 64-byte aligned (cache lines; SIMD loads need 16). Freed blocks coalesce with their
 * neighbours; the memory grows on demand and never shrinks (WebAssembly cannot), so "heap back to
 * baseline" is measured by {@link KernelHeap.allocatedBytes}.
 */
import { OutOfMemoryError, ShapeError } from '../core/errors';
import { KERNEL_MAX_PAGES } from './module';

const ALIGN = 64;
const PAGE = 65536;

const alignUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** Bytes the heap may address: 4 GiB (wasm32). */
export const KERNEL_HEAP_LIMIT = KERNEL_MAX_PAGES * PAGE;

/** The allocator. One per kernel runtime. */
export class KernelHeap {
  /** Free blocks below `top`, sorted by address. */
  private free: { ptr: number; size: number }[] = [];
  private sizes = new Map<number, number>();
  private top: number;
  private allocated = 0;
  private f32View: Float32Array;
  private i32View: Int32Array;
  private u8View: Uint8Array;

  constructor(
    readonly memory: WebAssembly.Memory,
    /** First byte the module does not use (`__heap_base`). */
    base: number,
    /** Upper bound of the heap in bytes (the 4 GiB of wasm32 unless a test asks for less). */
    readonly limit = KERNEL_HEAP_LIMIT,
  ) {
    this.top = alignUp(base);
    this.f32View = new Float32Array(memory.buffer);
    this.i32View = new Int32Array(memory.buffer);
    this.u8View = new Uint8Array(memory.buffer);
  }

  /** Bytes in live blocks. */
  get allocatedBytes(): number {
    return this.allocated;
  }

  /** Bytes that could still be allocated (up to the limit), ignoring fragmentation. */
  get availableBytes(): number {
    return this.limit - this.top + this.free.reduce((n, b) => n + b.size, 0);
  }

  /**
   * A block of at least `bytes` bytes, 64-byte aligned, contents undefined.
   * @throws OutOfMemoryError when the heap cannot hold it.
   */
  alloc(bytes: number, what = 'kernel buffer'): number {
    if (!Number.isFinite(bytes) || bytes < 0) throw new ShapeError(`kernel heap: cannot allocate ${bytes} bytes for ${what}`);
    const size = alignUp(Math.max(bytes, 1));
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.size < size) continue;
      const ptr = b.ptr;
      if (b.size === size) this.free.splice(i, 1);
      else {
        b.ptr += size;
        b.size -= size;
      }
      return this.take(ptr, size);
    }
    const ptr = this.top;
    const end = ptr + size;
    if (end > this.limit) throw OutOfMemoryError.forKernelHeap(bytes, this.availableBytes, what);
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch {
        throw OutOfMemoryError.forKernelHeap(bytes, Math.max(0, have - ptr), `${what} (the engine refused to grow the memory)`);
      }
    }
    this.top = end;
    return this.take(ptr, size);
  }

  /** Allocates and zero-fills. */
  calloc(bytes: number, what?: string): number {
    const ptr = this.alloc(bytes, what);
    this.u8().fill(0, ptr, ptr + alignUp(Math.max(bytes, 1)));
    return ptr;
  }

  /** Frees a block from {@link alloc} (0 is ignored). */
  release(ptr: number): void {
    if (ptr === 0) return;
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new ShapeError(`kernel heap: free of ${ptr}, which is not a live block`);
    this.sizes.delete(ptr);
    this.allocated -= size;
    if (ptr + size === this.top) {
      this.top = ptr;
      const last = this.free[this.free.length - 1];
      if (last && last.ptr + last.size === this.top) {
        this.top = last.ptr;
        this.free.pop();
      }
      return;
    }
    let i = 0;
    while (i < this.free.length && this.free[i]!.ptr < ptr) i++;
    this.free.splice(i, 0, { ptr, size });
    const next = this.free[i + 1];
    if (next && ptr + size === next.ptr) {
      this.free[i]!.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.ptr + prev.size === ptr) {
      prev.size += this.free[i]!.size;
      this.free.splice(i, 1);
    }
  }

  /** A Float32Array over the whole memory (re-created after the memory grew). */
  f32(): Float32Array {
    if (this.f32View.buffer.byteLength !== this.memory.buffer.byteLength) this.refresh();
    return this.f32View;
  }

  /** An Int32Array over the whole memory. */
  i32(): Int32Array {
    if (this.i32View.buffer.byteLength !== this.memory.buffer.byteLength) this.refresh();
    return this.i32View;
  }

  /** A Uint8Array over the whole memory. */
  u8(): Uint8Array {
    if (this.u8View.buffer.byteLength !== this.memory.buffer.byteLength) this.refresh();
    return this.u8View;
  }

  private take(ptr: number, size: number): number {
    this.sizes.set(ptr, size);
    this.allocated += size;
    return ptr;
  }

  private refresh(): void {
    this.f32View = new Float32Array(this.memory.buffer);
    this.i32View = new Int32Array(this.memory.buffer);
    this.u8View = new Uint8Array(this.memory.buffer);
  }
}
