/**
 * A bounded, stack-safe preview of any value for error messages. `JSON.stringify` of a value from
 * a hostile file can be gigabytes long or nested deep enough to overflow the stack; error builders
 * quote this instead.
 */

/** Longest preview returned (characters), before the trailing `...`. */
export const PREVIEW_CHARS = 40;

/**
 * JSON-like text of `v`, at most `max` characters (then `...`). Walks at most `max` characters of
 * output with an explicit stack, so any nesting depth or size is safe.
 */
export function previewValue(v: unknown, max = PREVIEW_CHARS): string {
  let out = '';
  // Work items: a value to print, or a literal piece of text.
  const stack: ({ value: unknown } | { text: string })[] = [{ value: v }];
  while (stack.length > 0 && out.length <= max) {
    const item = stack.pop()!;
    if ('text' in item) {
      out += item.text;
      continue;
    }
    const x = item.value;
    if (Array.isArray(x)) {
      out += '[';
      stack.push({ text: ']' });
      // Push at most enough elements to fill the budget (each prints at least one character).
      const n = Math.min(x.length, max - out.length + 1);
      for (let i = n - 1; i >= 0; i--) {
        stack.push({ value: x[i] });
        if (i > 0) stack.push({ text: ',' });
      }
    } else if (typeof x === 'object' && x !== null) {
      out += '{';
      stack.push({ text: '}' });
      const keys: string[] = [];
      for (const k in x) {
        if (keys.length > max - out.length) break;
        if (Object.prototype.hasOwnProperty.call(x, k)) keys.push(k);
      }
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push({ value: (x as Record<string, unknown>)[keys[i]!] });
        stack.push({ text: `${JSON.stringify(keys[i]!.slice(0, max))}:` });
        if (i > 0) stack.push({ text: ',' });
      }
    } else if (typeof x === 'string') {
      out += JSON.stringify(x.length > max ? x.slice(0, max + 1) : x);
    } else if (x === undefined || x === null) {
      out += String(x);
    } else if (typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint') {
      out += String(x);
    } else {
      out += typeof x;
    }
  }
  return out.length > max || stack.length > 0 ? `${out.slice(0, max)}...` : out;
}
