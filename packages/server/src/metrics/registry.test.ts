// Golden text for the Prometheus exposition (format 0.0.4) of counters, gauges and histograms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRegistry, Histogram } from './registry.js';
import { escapeHelp, escapeLabelValue, formatValue } from './exposition.js';

test('counters and gauges render HELP, TYPE and labelled samples', () => {
  const reg = new MetricsRegistry();
  const c = reg.counter({ name: 'x_packet_total', help: 'Packets.', labelNames: ['direction', 'kind'] });
  c.inc({ direction: 'incoming', kind: 'audio' });
  c.inc({ direction: 'incoming', kind: 'audio' }, 2);
  c.inc({ direction: 'outgoing', kind: 'video' }, 10);
  reg.gauge({ name: 'x_room_total', help: 'Rooms.' });
  assert.equal(
    reg.render(),
    [
      '# HELP x_packet_total Packets.',
      '# TYPE x_packet_total counter',
      'x_packet_total{direction="incoming",kind="audio"} 3',
      'x_packet_total{direction="outgoing",kind="video"} 10',
      '# HELP x_room_total Rooms.',
      '# TYPE x_room_total gauge',
      'x_room_total 0',
      '',
    ].join('\n'),
  );
});

test('const labels come first; label values and HELP are escaped', () => {
  const reg = new MetricsRegistry({ constLabels: { node_id: 'ND_1' } });
  const g = reg.gauge({ name: 'x_g', help: 'a \\ b\nc "q"', labelNames: ['room'] });
  g.set({ room: 'a"b\\c\nd' }, -1.5);
  assert.equal(
    reg.render(),
    '# HELP x_g a \\\\ b\\nc "q"\n# TYPE x_g gauge\nx_g{node_id="ND_1",room="a\\"b\\\\c\\nd"} -1.5\n',
  );
  assert.equal(escapeHelp('\\\n"'), '\\\\\\n"');
  assert.equal(escapeLabelValue('\\\n"'), '\\\\\\n\\"');
});

test('collect sets values at scrape time', () => {
  const reg = new MetricsRegistry();
  let n = 0;
  reg.gauge({ name: 'x_live', help: 'Live.', labelNames: ['kind'], collect: (m) => m.set({ kind: 'audio' }, ++n) });
  assert.match(reg.render(), /^x_live\{kind="audio"\} 1$/m);
  assert.match(reg.render(), /^x_live\{kind="audio"\} 2$/m);
});

test('a collected family exports only the label sets its collect sets now (a participant that left is dropped)', () => {
  const reg = new MetricsRegistry();
  let present = ['PA_a', 'PA_b'];
  reg.gauge({ name: 'x_estimate', help: 'Per participant.', labelNames: ['participant_id'], collect: (m) => { for (const p of present) m.set({ participant_id: p }, 1); } });
  assert.match(reg.render(), /participant_id="PA_b"/);
  present = ['PA_a'];
  const text = reg.render();
  assert.match(text, /participant_id="PA_a"/);
  assert.doesNotMatch(text, /PA_b/);
});

test('a histogram renders cumulative buckets, +Inf, _sum and _count', () => {
  const reg = new MetricsRegistry({ constLabels: { node_id: 'n' } });
  const h = reg.histogram({ name: 'x_latency_seconds', help: 'Latency.', buckets: [0.001, 0.01, 0.1] });
  for (const v of [0.0005, 0.001, 0.005, 0.05, 2]) h.observe(v);
  assert.equal(
    reg.render(),
    [
      '# HELP x_latency_seconds Latency.',
      '# TYPE x_latency_seconds histogram',
      'x_latency_seconds_bucket{node_id="n",le="0.001"} 2',
      'x_latency_seconds_bucket{node_id="n",le="0.01"} 3',
      'x_latency_seconds_bucket{node_id="n",le="0.1"} 4',
      'x_latency_seconds_bucket{node_id="n",le="+Inf"} 5',
      'x_latency_seconds_sum{node_id="n"} 2.0565',
      'x_latency_seconds_count{node_id="n"} 5',
      '',
    ].join('\n'),
  );
  assert.equal(h.sampleCount, 5);
});

test('special values and bad definitions', () => {
  assert.equal(formatValue(Infinity), '+Inf');
  assert.equal(formatValue(-Infinity), '-Inf');
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(1e-7), '1e-7');
  const reg = new MetricsRegistry();
  reg.counter({ name: 'x_c', help: 'c' });
  assert.throws(() => reg.counter({ name: 'x_c', help: 'c' }), /registered twice/);
  assert.throws(() => reg.counter({ name: 'bad-name', help: 'c' }), /invalid metric name/);
  assert.throws(() => reg.gauge({ name: 'x_l', help: 'l', labelNames: ['le'] }), /invalid label name/);
  assert.throws(() => new Histogram({ name: 'x_h', help: 'h', buckets: [2, 1] }), /ascend/);
  const c = reg.counter({ name: 'x_d', help: 'd', labelNames: ['k'] });
  assert.throws(() => c.inc({ k: 'a' }, -1), /cannot decrease/);
  assert.throws(() => c.inc({}), /label 'k' missing/);
});
