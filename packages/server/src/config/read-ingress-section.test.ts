import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './load-config.js';
import { configIssues } from './config-testing.js';
import { DEFAULT_MAX_ACTIVE_INGRESS_STREAMS } from './read-ingress-section.js';

const base = 'keys:\n  k: s\nbind_addresses: [127.0.0.1]\n';

const issuesOf = (yaml: string): string[] => configIssues({ yaml });

test('ingress: defaults, whip_base_url, rtmp_port, rtmp_base_url and max_active_streams as written', () => {
  assert.deepEqual(loadConfig({ yaml: base }).ingress, { whipBaseUrl: '', maxActiveStreams: DEFAULT_MAX_ACTIVE_INGRESS_STREAMS, rtmpPort: 0, rtmpBaseUrl: '' });
  assert.equal(loadConfig({ yaml: base, dev: true }).ingress.rtmpPort, 1935, 'RTMP on 1935 in development');
  const c = loadConfig({ yaml: `${base}ingress:\n  whip_base_url: https://media.example.com/w\n  max_active_streams: 3\n  rtmp_port: 19350\n` });
  assert.deepEqual(c.ingress, { whipBaseUrl: 'https://media.example.com/w', maxActiveStreams: 3, rtmpPort: 19350, rtmpBaseUrl: '' });
  const r = loadConfig({ yaml: `${base}ingress:\n  rtmp_base_url: rtmp://media.example.com/x\n` });
  assert.deepEqual([r.ingress.rtmpPort, r.ingress.rtmpBaseUrl], [1935, 'rtmp://media.example.com/x'], 'rtmp_base_url alone: LiveKit\'s port');
});

test('ingress: unknown keys and bad values stop start-up, naming the key', () => {
  assert.deepEqual(issuesOf(`${base}ingress:\n  whip_port: 8080\n`), ['ingress.whip_port: unknown key']);
  assert.deepEqual(issuesOf(`${base}ingress:\n  whip_base_url: media.example.com\n`), [
    'ingress.whip_base_url: must be an http(s) URL such as https://example.com/w, got "media.example.com"',
  ]);
  assert.deepEqual(issuesOf(`${base}ingress:\n  max_active_streams: -1\n`), ['ingress.max_active_streams: must be between 0 and 100000, got -1']);
  assert.deepEqual(issuesOf(`${base}ingress:\n  rtmp_base_url: http://example.com/x\n`), [
    'ingress.rtmp_base_url: must be an rtmp URL such as rtmp://example.com/x, got "http://example.com/x"',
  ]);
  assert.deepEqual(issuesOf(`${base}ingress:\n  rtmp_port: 70000\n`), ['ingress.rtmp_port: must be between 0 and 65535, got 70000']);
});
