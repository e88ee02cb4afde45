// A small Prometheus metrics registry: counters, gauges and histograms with labels, rendered in the text
// exposition format 0.0.4 (exposition.ts). Values that live elsewhere are read at scrape time by `collect`.
// https://prometheus.io/docs/instrumenting/exposition_formats/
import { formatFamily, formatValue } from './exposition.js';

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type LabelValues = Readonly<Record<string, string>>;

export interface Sample {
  /** Appended to the family name ('' or '_bucket', '_sum', '_count'). */
  suffix: string;
  labels: LabelValues;
  value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  samples(): Sample[];
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export interface MetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  /** Runs before every scrape: set the current values here (gauges and counters kept elsewhere). */
  collect?: (metric: LabelledMetric<L>) => void;
}

function checkNames(name: string, labelNames: readonly string[]): void {
  if (!NAME_RE.test(name)) throw new Error(`invalid metric name '${name}'`);
  for (const l of labelNames) {
    if (!LABEL_RE.test(l) || l.startsWith('__') || l === 'le') throw new Error(`invalid label name '${l}' on ${name}`);
  }
}

/** Counter or gauge: one value per label combination. */
export class LabelledMetric<L extends string = string> implements MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labelNames: readonly L[];
  private readonly values = new Map<string, { labels: LabelValues; value: number }>();
  private readonly collectFn: ((metric: LabelledMetric<L>) => void) | undefined;

  constructor(type: 'counter' | 'gauge', opts: MetricOptions<L>) {
    this.type = type;
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames ?? [];
    this.collectFn = opts.collect;
    checkNames(this.name, this.labelNames);
  }

  private entry(labels: Partial<Record<L, string>>): { labels: LabelValues; value: number } {
    const values: string[] = [];
    for (const n of this.labelNames) {
      const v = labels[n];
      if (v === undefined) throw new Error(`${this.name}: label '${n}' missing`);
      values.push(v);
    }
    const key = values.join('\u0000');
    let e = this.values.get(key);
    if (e === undefined) {
      const copy: Record<string, string> = {};
      for (const n of this.labelNames) copy[n] = labels[n] as string;
      e = { labels: copy, value: 0 };
      this.values.set(key, e);
    }
    return e;
  }

  /** Sets the value (gauges; counters only from `collect`, with a value that never decreases). */
  set(labels: Partial<Record<L, string>>, value: number): void {
    this.entry(labels).value = value;
  }

  inc(labels: Partial<Record<L, string>> = {}, by = 1): void {
    if (this.type === 'counter' && !(by >= 0)) throw new Error(`${this.name}: a counter cannot decrease`);
    this.entry(labels).value += by;
  }

  get(labels: Partial<Record<L, string>> = {}): number {
    return this.entry(labels).value;
  }

  samples(): Sample[] {
    if (this.collectFn !== undefined) {
      // A collected family is what `collect` reports now: label sets it no longer sets (a participant that left, a
      // worker that is gone) are dropped rather than exported with their last value forever.
      this.values.clear();
      this.collectFn(this);
    }
    // An unlabelled metric always shows (0 before anything happened), as client libraries do.
    if (this.labelNames.length === 0) this.entry({});
    return [...this.values.values()].map((e) => ({ suffix: '', labels: e.labels, value: e.value }));
  }
}

export interface HistogramOptions {
  name: string;
  help: string;
  /** Upper bounds, ascending; +Inf is implicit. */
  buckets: readonly number[];
}

/** An unlabelled histogram; `observe` allocates nothing (it may run on a sampled hot path). */
export class Histogram implements MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly buckets: Float64Array;
  /** Per bucket, not cumulative (cumulated when rendered). The last slot counts values above every bound. */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(opts: HistogramOptions) {
    this.name = opts.name;
    this.help = opts.help;
    checkNames(this.name, []);
    for (let i = 1; i < opts.buckets.length; i++) {
      if (!(opts.buckets[i]! > opts.buckets[i - 1]!)) throw new Error(`${this.name}: buckets must ascend`);
    }
    this.buckets = Float64Array.from(opts.buckets.filter((b) => b !== Infinity));
    this.counts = new Float64Array(this.buckets.length + 1);
  }

  observe(value: number): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  get sampleCount(): number {
    return this.count;
  }

  samples(): Sample[] {
    const out: Sample[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.counts[i]!;
      out.push({ suffix: '_bucket', labels: { le: formatValue(this.buckets[i]!) }, value: cumulative });
    }
    out.push({ suffix: '_bucket', labels: { le: '+Inf' }, value: this.count });
    out.push({ suffix: '_sum', labels: {}, value: this.sum });
    out.push({ suffix: '_count', labels: {}, value: this.count });
    return out;
  }
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export class MetricsRegistry {
  private readonly families = new Map<string, MetricFamily>();
  /** Added to every sample (LiveKit adds node_id and node_type). */
  private readonly constLabels: LabelValues;

  constructor(opts: { constLabels?: LabelValues } = {}) {
    this.constLabels = opts.constLabels ?? {};
    checkNames('registry', Object.keys(this.constLabels));
  }

  register<M extends MetricFamily>(family: M): M {
    if (this.families.has(family.name)) throw new Error(`metric '${family.name}' registered twice`);
    this.families.set(family.name, family);
    return family;
  }

  counter<L extends string>(opts: MetricOptions<L>): LabelledMetric<L> {
    return this.register(new LabelledMetric<L>('counter', opts));
  }

  gauge<L extends string>(opts: MetricOptions<L>): LabelledMetric<L> {
    return this.register(new LabelledMetric<L>('gauge', opts));
  }

  histogram(opts: HistogramOptions): Histogram {
    return this.register(new Histogram(opts));
  }

  /** The text exposition of every family, in registration order. */
  render(): string {
    let out = '';
    for (const f of this.families.values()) out += formatFamily(f, this.constLabels);
    return out;
  }
}
