/**
 * Strict standard base64 (RFC 4648, `=` padding, no line breaks), as Go's `base64.StdEncoding`.
 */
import { LoomFormatError } from '../src/core/errors';

const ALPHABET = /^[A-Za-z0-9+/]*$/;

/**
 * Decodes base64 text to bytes.
 * @throws LoomFormatError naming the first illegal byte, like Go (`illegal base64 data at input byte N`).
 */
export function decodeBase64(text: string): Uint8Array {
  const body = text.replace(/=+$/, '');
  const pad = text.length - body.length;
  let bad = -1;
  if (!ALPHABET.test(body)) {
    for (let i = 0; i < body.length; i++) {
      if (!/[A-Za-z0-9+/]/.test(body[i] as string)) {
        bad = i;
        break;
      }
    }
  } else if (pad > 2 || text.length % 4 !== 0) {
    bad = Math.min(text.length, body.length + (pad > 2 ? 2 : 0));
  }
  if (bad >= 0) throw new LoomFormatError(`illegal base64 data at input byte ${bad}`);
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(text, 'base64'));
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Encodes bytes as standard padded base64. */
export function encodeBase64(bytes: Uint8Array): string {
  if (typeof Buffer !== 'undefined') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let bin = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) bin += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(bin);
}
