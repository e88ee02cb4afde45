// Reads what the compare bench needs from Atrium's Prometheus text (docs/metrics.md): packets sent to subscribers
// (`livekit_packet_total{direction="outgoing"}`, initial and retransmit) and the forwarding-latency histogram
// (`livekit_forward_latency_ns`: a packet entering the SFU Receiver -> its send to every subscriber, sampled), so a
// window's server-side count and in-server latency can be taken as the difference of two scrapes. Pure but `scrape`.

export interface ServerCounters {
  /** RTP packets sent to subscribers so far. */
  sent: number;
  /** Cumulative histogram buckets: upper bound (ns; Infinity for +Inf) -> count. */
  latency: Map<number, number>;
}

function labels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

export function parseCounters(text: string): ServerCounters {
  let sent = 0;
  const latency = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^(\w+)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const [, name, labelText = '', value] = m;
    const l = labels(labelText);
    if (name === 'livekit_packet_total' && l.direction === 'outgoing') sent += Number(value);
    if (name === 'livekit_forward_latency_ns_bucket' && l.le !== undefined) {
      const le = l.le === '+Inf' ? Infinity : Number(l.le);
      latency.set(le, (latency.get(le) ?? 0) + Number(value));
    }
  }
  return { sent, latency };
}

/**
 * The p-th percentile (0 < p <= 100) of the samples between two scrapes, as the upper bound of the bucket it falls
 * in (ns), NaN without samples, Infinity when it is in the +Inf bucket.
 */
export function latencyPercentileNs(a: ServerCounters, b: ServerCounters, p: number): number {
  const bounds = [...b.latency.keys()].sort((x, y) => x - y);
  const total = (b.latency.get(Infinity) ?? 0) - (a.latency.get(Infinity) ?? 0);
  if (total <= 0) return NaN;
  const rank = (p / 100) * total;
  for (const le of bounds) {
    if ((b.latency.get(le) ?? 0) - (a.latency.get(le) ?? 0) >= rank) return le;
  }
  return Infinity;
}

export async function scrape(url: string): Promise<ServerCounters> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`metrics: http ${res.status} from ${url}`);
  return parseCounters(await res.text());
}
