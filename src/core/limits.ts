/**
 * Nesting limits for structures read from files: recursion over a value nested thousands deep
 * (Parallel branches inside branches, an `ext` object) would overflow the stack with an untyped
 * RangeError, so depth is checked first, iteratively.
 */
import { LoomFormatError } from './errors';

/** Deepest nesting of Parallel layers accepted (real networks: a handful). */
export const MAX_BRANCH_DEPTH = 64;

/** Deepest nesting of a free-form JSON value (`ext`) accepted. */
export const MAX_JSON_DEPTH = 64;

/** Number of `marker` occurrences in `where` (how deep a path is), counted without a regex. */
export function countOccurrences(where: string, marker: string): number {
  let n = 0;
  for (let i = where.indexOf(marker); i >= 0; i = where.indexOf(marker, i + marker.length)) n++;
  return n;
}

/**
 * Throws when `depth` (branches above the layer at `where`) exceeds {@link MAX_BRANCH_DEPTH}.
 * @throws ErrorClass (default LoomFormatError) naming the place and the limit.
 */
export function checkBranchDepth(depth: number, where: string, ErrorClass: new (message: string) => Error = LoomFormatError): void {
  if (depth > MAX_BRANCH_DEPTH) {
    throw new ErrorClass(`${where.slice(0, 80)}...: Parallel branches nested ${depth} deep, more than the limit of ${MAX_BRANCH_DEPTH}`);
  }
}

/** Depth of nested arrays/objects in `v` (0 for a scalar), counted iteratively; stops past `max`. */
export function jsonDepth(v: unknown, max = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    if (d + 1 > deepest) deepest = d + 1;
    if (deepest > max) return deepest;
    for (const child of Array.isArray(x) ? x : Object.values(x)) stack.push([child, d + 1]);
  }
  return deepest;
}

/**
 * A deep copy of a JSON value nested at most {@link MAX_JSON_DEPTH} deep.
 * @throws ErrorClass (default LoomFormatError) when it is nested deeper.
 */
export function cloneJsonBounded<T>(v: T, where: string, ErrorClass: new (message: string) => Error = LoomFormatError): T {
  if (jsonDepth(v) > MAX_JSON_DEPTH) throw new ErrorClass(`${where}: value nested more than ${MAX_JSON_DEPTH} deep`);
  return JSON.parse(JSON.stringify(v)) as T;
}
