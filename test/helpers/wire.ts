/**
 * A minimal protobuf wire-format reader, independent of protobufjs, so tests can check what the
 * picker really put on the wire (field numbers, not our own decoder's view of them).
 */
export interface WireField {
  readonly field: number;
  readonly wireType: number;
  /** varint value (wire type 0) */
  readonly varint?: bigint;
  /** length-delimited payload (wire type 2) */
  readonly bytes?: Buffer;
}

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[pos++];
    if (b === undefined) throw new Error('truncated varint');
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

export function readFields(buf: Buffer): WireField[] {
  const out: WireField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p1] = readVarint(buf, pos);
    pos = p1;
    const field = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    if (wireType === 0) {
      const [v, p2] = readVarint(buf, pos);
      pos = p2;
      out.push({ field, wireType, varint: v });
    } else if (wireType === 2) {
      const [len, p2] = readVarint(buf, pos);
      const end = p2 + Number(len);
      out.push({ field, wireType, bytes: buf.subarray(p2, end) });
      pos = end;
    } else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
  return out;
}

export function fieldBytes(buf: Buffer, field: number): Buffer[] {
  return readFields(buf).filter((f) => f.field === field && f.bytes !== undefined).map((f) => f.bytes as Buffer);
}

/**
 * Decodes a google.protobuf.Struct (field 1: map<string, Value>) into plain values: strings (Value
 * field 3), nested structs (field 5), lists (field 6), numbers (field 2), bools (field 4).
 */
export function decodeStruct(buf: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const entry of fieldBytes(buf, 1)) {
    const key = fieldBytes(entry, 1)[0]?.toString('utf8') ?? '';
    const value = fieldBytes(entry, 2)[0];
    out[key] = value === undefined ? null : decodeValue(value);
  }
  return out;
}

function decodeValue(buf: Buffer): unknown {
  for (const f of readFields(buf)) {
    if (f.field === 3 && f.bytes !== undefined) return f.bytes.toString('utf8');
    if (f.field === 5 && f.bytes !== undefined) return decodeStruct(f.bytes);
    if (f.field === 6 && f.bytes !== undefined) return fieldBytes(f.bytes, 1).map(decodeValue);
    if (f.field === 4 && f.varint !== undefined) return f.varint !== 0n;
    if (f.field === 2 && f.bytes === undefined) return 'number';
  }
  return null;
}
