/**
 * The one codec of loom-tfjs's extension settings in a LOOM record's `ext` bag (saved under a key
 * LOOM ignores): each layer kind declares its settings as an {@link ExtField} table, and this file
 * reads and writes them. Layers never index `ext` themselves.
 */
import { ConfigError } from './errors';
import type { LayerRecord } from './layer_record';

type Ext = LayerRecord['ext'];

/** A typed extension setting: its `ext` key, its config field, and LOOM's behaviour when absent. */
export interface ExtField {
  /** Key in `record.ext`, e.g. `use_bias`. */
  readonly key: string;
  /** Config field it fills, e.g. `useBias`. */
  readonly field: string;
  readonly type: 'boolean' | 'number';
  /** Value when absent (LOOM's behaviour); undefined: the setting is simply unset. Not written when equal. */
  readonly loomDefault?: boolean | number;
  /**
   * A value of another type throws a ConfigError. Otherwise (loose) a boolean is the opposite of
   * the default only when it is exactly that value, and a non-number is unset.
   */
  readonly strict?: boolean;
}

/** Values of `fields` by config field name. */
export type ExtValues = Record<string, boolean | number | undefined>;

/**
 * Reads the settings `fields` describes from `ext`.
 * @throws ConfigError naming `where` and the key for a strict field of the wrong type
 */
export function readExt(ext: Ext | undefined, fields: readonly ExtField[], where: string): ExtValues {
  const out: ExtValues = {};
  for (const f of fields) {
    const v = ext?.[f.key];
    if (v === undefined) {
      out[f.field] = f.loomDefault;
    } else if (typeof v === f.type) {
      out[f.field] = v as boolean | number;
    } else if (f.strict) {
      throw new ConfigError(`${where}: ext.${f.key} must be a ${f.type}, got ${JSON.stringify(v)}`);
    } else {
      out[f.field] = f.loomDefault;
    }
  }
  return out;
}

/** The `ext` entries for `values`: each setting that is set and differs from LOOM's default. */
export function writeExt(values: ExtValues, fields: readonly ExtField[]): Ext {
  const out: Ext = {};
  for (const f of fields) {
    const v = values[f.field];
    if (v !== undefined && v !== f.loomDefault) out[f.key] = v;
  }
  return out;
}

/** The entries of `ext` that `fields` does not describe (kept verbatim on save). */
export function otherExt(ext: Ext | undefined, fields: readonly ExtField[]): Ext {
  const known = new Set(fields.map((f) => f.key));
  return Object.fromEntries(Object.entries(ext ?? {}).filter(([k]) => !known.has(k)));
}
