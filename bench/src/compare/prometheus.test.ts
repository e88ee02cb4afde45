import { test } from 'node:test';
import assert from 'node:assert/strict';
import { latencyPercentileNs, parseCounters } from './prometheus.js';

const scrape = (outgoing: number, buckets: [string, number][]): string => [
  '# TYPE livekit_packet_total counter',
  `livekit_packet_total{node_id="ND_1",node_type="SERVER",direction="outgoing",transmission="initial",kind="video"} ${outgoing}`,
  'livekit_packet_total{node_id="ND_1",node_type="SERVER",direction="outgoing",transmission="retransmit",kind="video"} 5',
  'livekit_packet_total{node_id="ND_1",node_type="SERVER",direction="incoming",transmission="initial",kind="video"} 999',
  ...buckets.map(([le, n]) => `livekit_forward_latency_ns_bucket{node_id="ND_1",node_type="SERVER",le="${le}"} ${n}`),
].join('\n');

test('parseCounters sums outgoing packets and reads the latency buckets', () => {
  const c = parseCounters(scrape(100, [['50000', 3], ['100000', 7], ['+Inf', 8]]));
  assert.equal(c.sent, 105);
  assert.equal(c.latency.get(100000), 7);
  assert.equal(c.latency.get(Infinity), 8);
});

test('latencyPercentileNs takes the bucket of the rank between two scrapes', () => {
  const a = parseCounters(scrape(0, [['50000', 10], ['100000', 10], ['200000', 10], ['+Inf', 10]]));
  const b = parseCounters(scrape(0, [['50000', 60], ['100000', 90], ['200000', 109], ['+Inf', 110]]));
  assert.equal(latencyPercentileNs(a, b, 50), 50000);
  assert.equal(latencyPercentileNs(a, b, 80), 100000);
  assert.equal(latencyPercentileNs(a, b, 99), 200000);
  assert.equal(latencyPercentileNs(a, b, 100), Infinity);
  assert.ok(Number.isNaN(latencyPercentileNs(a, a, 50)));
});
