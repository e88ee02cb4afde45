// Typed reads from a parsed YAML tree that collect problems instead of throwing, each naming its dotted key.
import type { ConfigIssue } from './config-error.js';

export type YamlMap = Record<string, unknown>;

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

export class YamlReader {
  readonly issues: ConfigIssue[] = [];

  fail(key: string, message: string): undefined {
    this.issues.push({ key, message });
    return undefined;
  }

  /** The map at `path` (undefined when absent or wrong); keys not in `allowed` are reported. */
  map(value: unknown, path: string, allowed: readonly string[] | null): YamlMap | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) return this.fail(path, `must be a map, got ${typeName(value)}`);
    const m = value as YamlMap;
    if (allowed !== null) {
      for (const k of Object.keys(m)) if (!allowed.includes(k)) this.fail(join(path, k), 'unknown key');
    }
    return m;
  }

  int(m: YamlMap | undefined, path: string, key: string, min: number, max: number): number | undefined {
    const v = m?.[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.fail(join(path, key), `must be an integer, got ${typeName(v)}`);
    if (v < min || v > max) return this.fail(join(path, key), `must be between ${min} and ${max}, got ${v}`);
    return v;
  }

  port(m: YamlMap | undefined, path: string, key: string): number | undefined {
    return this.int(m, path, key, 0, 65535);
  }

  bool(m: YamlMap | undefined, path: string, key: string): boolean | undefined {
    const v = m?.[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') return this.fail(join(path, key), `must be true or false, got ${typeName(v)}`);
    return v;
  }

  str(m: YamlMap | undefined, path: string, key: string): string | undefined {
    const v = m?.[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') return this.fail(join(path, key), `must be a string, got ${typeName(v)}`);
    return v;
  }

  strList(m: YamlMap | undefined, path: string, key: string): string[] | undefined {
    const v = m?.[key];
    if (v === undefined || v === null) return undefined;
    const name = join(path, key);
    if (!Array.isArray(v)) return this.fail(name, `must be a list, got ${typeName(v)}`);
    const out: string[] = [];
    v.forEach((x: unknown, i) => {
      if (typeof x === 'string') out.push(x);
      else this.fail(`${name}[${i}]`, `must be a string, got ${typeName(x)}`);
    });
    return out;
  }

  /** key -> secret map (LiveKit's `keys`): every secret a non-empty string. */
  secrets(value: unknown, name: string): Record<string, string> | undefined {
    const m = this.map(value, name, null);
    if (m === undefined) return undefined;
    const out: Record<string, string> = {};
    for (const [k, s] of Object.entries(m)) {
      if (s === null || s === undefined || s === '') this.fail(join(name, k), 'missing secret');
      else if (typeof s !== 'string') this.fail(join(name, k), `secret must be a string (quote it), got ${typeName(s)}`);
      else out[k] = s;
    }
    return out;
  }
}
