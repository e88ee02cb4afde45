// AMF0 (Adobe's Action Message Format 0), the encoding of RTMP commands (message type 20) and data messages (type
// 18: @setDataFrame / onMetaData): numbers, booleans, strings, objects, null/undefined, ECMA and strict arrays, dates.
// Decoding is bounded (nesting depth, element counts) and throws Amf0Error on anything malformed or truncated, so a
// hostile peer costs at most the bytes it sent.
export type Amf0Value = number | boolean | string | null | undefined | Date | Amf0Value[] | Amf0Object;
export interface Amf0Object {
  [key: string]: Amf0Value;
}

export class Amf0Error extends Error {
  readonly code = 'amf0';
}

const MAX_DEPTH = 16;
const MAX_ELEMENTS = 4_096;

const T_NUMBER = 0x00;
const T_BOOLEAN = 0x01;
const T_STRING = 0x02;
const T_OBJECT = 0x03;
const T_NULL = 0x05;
const T_UNDEFINED = 0x06;
const T_REFERENCE = 0x07;
const T_ECMA_ARRAY = 0x08;
const T_OBJECT_END = 0x09;
const T_STRICT_ARRAY = 0x0a;
const T_DATE = 0x0b;
const T_LONG_STRING = 0x0c;
const T_UNSUPPORTED = 0x0d;
const T_XML = 0x0f;
const T_TYPED_OBJECT = 0x10;
const T_AVMPLUS = 0x11;

/** Decodes every value in `buf` (a command: name, transaction id, command object, arguments...). */
export function decodeAmf0(buf: Buffer): Amf0Value[] {
  const r = new Reader(buf);
  const out: Amf0Value[] = [];
  while (r.pos < buf.length) {
    if (out.length >= MAX_ELEMENTS) throw new Amf0Error('too many AMF0 values');
    out.push(r.value(0));
  }
  return out;
}

class Reader {
  pos = 0;
  private elements = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Amf0Error(`AMF0 truncated at byte ${this.pos} (needs ${n} more)`);
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  private u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  private u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  private f64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  private utf8(length: number): string {
    this.need(length);
    const s = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return s;
  }

  private count(): void {
    if (++this.elements > MAX_ELEMENTS) throw new Amf0Error(`more than ${MAX_ELEMENTS} AMF0 elements`);
  }

  value(depth: number): Amf0Value {
    if (depth > MAX_DEPTH) throw new Amf0Error(`AMF0 nested deeper than ${MAX_DEPTH}`);
    this.count();
    const type = this.u8();
    switch (type) {
      case T_NUMBER:
        return this.f64();
      case T_BOOLEAN:
        return this.u8() !== 0;
      case T_STRING:
        return this.utf8(this.u16());
      case T_LONG_STRING:
      case T_XML:
        return this.utf8(this.u32());
      case T_NULL:
        return null;
      case T_UNDEFINED:
      case T_UNSUPPORTED:
        return undefined;
      case T_OBJECT:
        return this.properties(depth);
      case T_TYPED_OBJECT:
        this.utf8(this.u16()); // the class name
        return this.properties(depth);
      case T_ECMA_ARRAY:
        this.u32(); // an approximate count: the properties end with the object-end marker like an object's
        return this.properties(depth);
      case T_STRICT_ARRAY: {
        const n = this.u32();
        if (n > MAX_ELEMENTS) throw new Amf0Error(`AMF0 array of ${n} elements`);
        const arr: Amf0Value[] = [];
        for (let i = 0; i < n; i++) arr.push(this.value(depth + 1));
        return arr;
      }
      case T_DATE: {
        const ms = this.f64();
        this.u16(); // time zone, unused (always 0)
        return new Date(ms);
      }
      case T_REFERENCE:
        this.u16();
        return undefined;
      case T_AVMPLUS:
        throw new Amf0Error('AMF3 values are not supported');
      default:
        throw new Amf0Error(`unknown AMF0 type 0x${type.toString(16)} at byte ${this.pos - 1}`);
    }
  }

  private properties(depth: number): Amf0Object {
    const obj: Amf0Object = Object.create(null) as Amf0Object;
    for (;;) {
      const keyLength = this.u16();
      if (keyLength === 0) {
        // The end marker follows an empty key.
        if (this.u8() !== T_OBJECT_END) throw new Amf0Error(`AMF0 object without its end marker at byte ${this.pos - 1}`);
        return obj;
      }
      const key = this.utf8(keyLength);
      this.count();
      obj[key] = this.value(depth + 1);
    }
  }
}

/** Encodes values as AMF0 (what we send: command replies and status objects; metadata passed on to FLV). */
export function encodeAmf0(values: readonly Amf0Value[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) write(parts, v, 0);
  return Buffer.concat(parts);
}

function write(parts: Buffer[], v: Amf0Value, depth: number): void {
  if (depth > MAX_DEPTH) throw new Amf0Error(`AMF0 nested deeper than ${MAX_DEPTH}`);
  if (v === null) {
    parts.push(Buffer.of(T_NULL));
  } else if (v === undefined) {
    parts.push(Buffer.of(T_UNDEFINED));
  } else if (typeof v === 'number') {
    const b = Buffer.alloc(9);
    b[0] = T_NUMBER;
    b.writeDoubleBE(v, 1);
    parts.push(b);
  } else if (typeof v === 'boolean') {
    parts.push(Buffer.of(T_BOOLEAN, v ? 1 : 0));
  } else if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    const long = s.length > 0xffff;
    const head = Buffer.alloc(long ? 5 : 3);
    head[0] = long ? T_LONG_STRING : T_STRING;
    if (long) head.writeUInt32BE(s.length, 1);
    else head.writeUInt16BE(s.length, 1);
    parts.push(head, s);
  } else if (v instanceof Date) {
    const b = Buffer.alloc(11);
    b[0] = T_DATE;
    b.writeDoubleBE(v.getTime(), 1);
    parts.push(b);
  } else if (Array.isArray(v)) {
    const head = Buffer.alloc(5);
    head[0] = T_STRICT_ARRAY;
    head.writeUInt32BE(v.length, 1);
    parts.push(head);
    for (const e of v) write(parts, e, depth + 1);
  } else {
    parts.push(Buffer.of(T_OBJECT));
    for (const [key, value] of Object.entries(v)) {
      const k = Buffer.from(key, 'utf8');
      const len = Buffer.alloc(2);
      len.writeUInt16BE(k.length);
      parts.push(len, k);
      write(parts, value, depth + 1);
    }
    parts.push(Buffer.of(0, 0, T_OBJECT_END));
  }
}
