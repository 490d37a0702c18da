/**
 * Byte sizes as the reference's `--grpc-max-*-msg-size` take them: a Kubernetes quantity after one
 * trailing `B`/`b` is dropped — `4194304`, `10MiB` (= 10Mi), `25MB` (= 25M, decimal), `1.5Gi`,
 * `1e6`. The result must be a whole number of bytes.
 */
import { UsageError } from './flags.js';

const SUFFIXES: Readonly<Record<string, number>> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
};

const QUANTITY = /^([+]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P))?$/;

/** Parses `text` for flag `--name`; throws UsageError for anything but a whole, non-negative, safe-integer byte count. */
export function parseByteSize(name: string, text: string): number {
  let s = text.trim();
  if (s.length > 1 && (s.endsWith('B') || s.endsWith('b'))) s = s.slice(0, -1);
  const m = QUANTITY.exec(s);
  if (m === null) throw new UsageError(`invalid --${name} "${text}": want a byte size such as 4194304, 10MiB or 25MB`);
  const mantissa = Number(m[1]);
  const exact = m[2] !== undefined ? Number(`${m[1]}${m[2]}`) : mantissa * (SUFFIXES[m[3] ?? ''] ?? 1);
  // A decimal mantissa times a power of ten can land a hair off the integer it denotes (1.1k).
  const value = Math.round(exact);
  if (!Number.isSafeInteger(value) || Math.abs(exact - value) > 1e-9 * Math.max(1, value)) throw new UsageError(`invalid --${name} "${text}": not a whole number of bytes, or too large`);
  return value;
}
