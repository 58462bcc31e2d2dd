/**
 * Grid addressing of LOOM networks. Ref: loom-spec/network.md section 2.
 * The grid has no meaning beyond naming: execution is the flat order row -> col -> layer.
 */

/** Size of a grid network. */
export interface GridShape {
  readonly rows: number;
  readonly cols: number;
  readonly layersPerCell: number;
}

/** Position of one layer in the grid. */
export interface GridAddress {
  readonly row: number;
  readonly col: number;
  readonly layer: number;
}

/** Flat index `row*cols*lpc + col*lpc + layer` (LOOM's formula; not range-checked). */
export function flatIndex(g: GridShape, a: GridAddress): number {
  return a.row * g.cols * g.layersPerCell + a.col * g.layersPerCell + a.layer;
}

/** Inverse of {@link flatIndex}. */
export function gridAddress(g: GridShape, idx: number): GridAddress {
  return {
    row: Math.floor(idx / (g.cols * g.layersPerCell)),
    col: Math.floor(idx / g.layersPerCell) % g.cols,
    layer: idx % g.layersPerCell,
  };
}

/** `name at layer 3 (row 0, col 1, layer 0)`, for error messages. */
export function describePosition(g: GridShape, idx: number, name: string): string {
  const a = gridAddress(g, idx);
  return `${name} at layer ${idx} (row ${a.row}, col ${a.col}, layer ${a.layer})`;
}
