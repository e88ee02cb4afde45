// Test support: deterministic random protobuf-es (v1) messages for fuzzing, built from the message descriptors
// (every field, oneof case, enum, map and nested message), with hostile values mixed in (extremes, unknown enum
// numbers, lone surrogates, prototype-ish keys, thousands of entries). Same seed, same messages.

import { seededRandom } from '@atrium/webrtc/testing/seeded-random.js';

export { seededRandom };

/** protobuf-es v1 ScalarType numbers. */
const Scalar = {
  DOUBLE: 1, FLOAT: 2, INT64: 3, UINT64: 4, INT32: 5, FIXED64: 6, FIXED32: 7, BOOL: 8, STRING: 9, BYTES: 12,
  UINT32: 13, SFIXED32: 15, SFIXED64: 16, SINT32: 17, SINT64: 18,
} as const;

/** The parts of protobuf-es v1 reflection this generator reads (kept structural). */
interface EnumTypeLike { values: readonly { no: number }[] }
interface FieldLike {
  name: string;
  localName: string;
  kind: 'scalar' | 'enum' | 'message' | 'map';
  repeated: boolean;
  /** ScalarType, EnumType or MessageType depending on kind. */
  T?: unknown;
  /** Map key scalar type and value kind. */
  K?: number;
  V?: { kind: 'scalar' | 'enum' | 'message'; T: unknown };
  /** 64-bit integers as bigint (0) or string (1). */
  L?: number;
  oneof?: { localName: string };
}
export interface MessageTypeLike<M = object> {
  new (data?: object): M;
  readonly typeName: string;
  readonly fields: { list(): readonly FieldLike[] };
}

export interface RandomMessageOptions {
  /** Strings worth hitting often (known sids and identities): picked for about a third of string values. */
  pool?: readonly string[];
  /** Nesting depth after which nested messages stay empty. */
  maxDepth?: number;
  /** Largest count for a "thousands of entries" list or map (default 2,000). */
  maxEntries?: number;
  /** Longest "huge" string (default 64 KiB). */
  maxStringLength?: number;
}

const HOSTILE_STRINGS = ['', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '\u0000', '\ud800', '\udfff\ud800', '😀'.repeat(3), 'TR_', 'PA_', 'RM_', ' ', '\n\r\t', '../../', '%00', 'null'];

export class RandomMessages {
  readonly random: () => number;
  private readonly opts: Required<RandomMessageOptions>;

  constructor(seed: number, opts: RandomMessageOptions = {}) {
    this.random = seededRandom(seed);
    this.opts = { pool: [], maxDepth: 3, maxEntries: 2000, maxStringLength: 64 * 1024, ...opts };
  }

  int(n: number): number {
    return Math.floor(this.random() * n);
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.random() < p;
  }

  /** A message of `type` with every field set at random (oneofs: one random case, sometimes none). */
  message<M>(type: MessageTypeLike<M>, depth = 0): M {
    const msg = new type() as Record<string, unknown>;
    if (depth > this.opts.maxDepth) return msg as M;
    const oneofs = new Map<string, FieldLike[]>();
    for (const f of type.fields.list()) {
      if (f.oneof) {
        const list = oneofs.get(f.oneof.localName) ?? [];
        list.push(f);
        oneofs.set(f.oneof.localName, list);
        continue;
      }
      if (this.chance(0.25)) continue; // left at its default
      msg[f.localName] = this.fieldValue(f, depth);
    }
    for (const [name, cases] of oneofs) {
      if (this.chance(0.15)) continue;
      const f = this.pick(cases);
      msg[name] = { case: f.localName, value: this.single(f.kind, f.T, f.L, depth) };
    }
    return msg as M;
  }

  /** A message with one oneof `case` of `type` set (e.g. one SignalRequest kind). */
  oneofCase<M>(type: MessageTypeLike<M>, oneofName: string, caseName: string): M {
    const f = type.fields.list().find((x) => x.oneof?.localName === oneofName && x.localName === caseName);
    if (!f) throw new Error(`${type.typeName} has no ${oneofName} case ${caseName}`);
    return new type({ [oneofName]: { case: caseName, value: this.single(f.kind, f.T, f.L, 0) } });
  }

  /** The oneof case names of `type`'s oneof `oneofName`. */
  static cases(type: MessageTypeLike, oneofName: string): string[] {
    return type.fields.list().filter((f) => f.oneof?.localName === oneofName).map((f) => f.localName);
  }

  private count(): number {
    if (this.chance(0.03)) return this.opts.maxEntries > 0 ? 1 + this.int(this.opts.maxEntries) : 0;
    return this.int(4);
  }

  private fieldValue(f: FieldLike, depth: number): unknown {
    if (f.kind === 'map') {
      const out: Record<string, unknown> = {};
      const n = this.count();
      for (let i = 0; i < n; i++) {
        const key = String(this.scalar(f.K ?? Scalar.STRING, 1, true));
        out[key] = this.single(f.V?.kind ?? 'scalar', f.V?.T, 0, depth);
      }
      return out;
    }
    if (f.repeated) {
      const n = this.count();
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(this.single(f.kind, f.T, f.L, depth));
      return out;
    }
    return this.single(f.kind, f.T, f.L, depth);
  }

  private single(kind: FieldLike['kind'], T: unknown, L: number | undefined, depth: number): unknown {
    if (kind === 'message') return this.message(T as MessageTypeLike, depth + 1);
    if (kind === 'enum') return this.enumValue(T as EnumTypeLike);
    return this.scalar(T as number, L ?? 0, false);
  }

  private enumValue(e: EnumTypeLike): number {
    if (this.chance(0.8) && e.values.length > 0) return this.pick(e.values).no;
    return this.pick([-1, 99, 2 ** 31 - 1, -(2 ** 31), 7]);
  }

  /** A scalar of protobuf type `t`; `forKey` keeps map keys short. */
  scalar(t: number, L: number, forKey: boolean): unknown {
    const asLong = (v: bigint): bigint | string => (L === 1 ? v.toString() : v);
    switch (t) {
      case Scalar.STRING:
        return this.string(forKey);
      case Scalar.BYTES: {
        const n = this.chance(0.05) ? this.int(16 * 1024) : this.int(40);
        const b = new Uint8Array(n);
        for (let i = 0; i < n; i++) b[i] = this.int(256);
        return b;
      }
      case Scalar.BOOL:
        return this.chance(0.5);
      case Scalar.DOUBLE:
        return this.pick([0, -0, 1, -1, NaN, Infinity, -Infinity, 1e308, -1e-308, this.random() * 1e6, 3.5]);
      case Scalar.FLOAT:
        // protobuf-es refuses finite values outside float32 range when encoding.
        return this.pick([0, -0, 1, -1, NaN, Infinity, -Infinity, 3.4e38, -1e-38, this.random() * 1e6, 3.5]);
      case Scalar.INT32:
      case Scalar.SINT32:
      case Scalar.SFIXED32:
        return this.pick([0, 1, -1, 2 ** 31 - 1, -(2 ** 31), this.int(100_000), -this.int(100_000)]);
      case Scalar.UINT32:
      case Scalar.FIXED32:
        return this.pick([0, 1, 2 ** 32 - 1, 2 ** 31, this.int(100_000), this.int(2 ** 32)]);
      case Scalar.UINT64:
      case Scalar.FIXED64:
        return asLong(this.pick([0n, 1n, 2n ** 64n - 1n, 2n ** 63n, BigInt(this.int(2 ** 31)), BigInt(Date.now())]));
      default:
        // INT64, SINT64, SFIXED64
        return asLong(this.pick([0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), BigInt(this.int(2 ** 31)), BigInt(Date.now())]));
    }
  }

  private string(forKey: boolean): string {
    const r = this.random();
    if (r < 0.35 && this.opts.pool.length > 0) return this.pick(this.opts.pool);
    if (r < 0.55) return this.pick(HOSTILE_STRINGS);
    if (r < 0.58 && !forKey) return this.pick(['x', 'é', '😀', '\ud800']).repeat(1 + this.int(this.opts.maxStringLength));
    const n = this.int(forKey ? 12 : 40);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.chance(0.9) ? 32 + this.int(95) : this.int(0xffff));
    return s;
  }
}
