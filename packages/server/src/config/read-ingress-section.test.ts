import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './load-config.js';
import { ConfigError } from './config-error.js';
import { DEFAULT_MAX_ACTIVE_INGRESS_STREAMS } from './read-ingress-section.js';

const base = 'keys:\n  k: s\nbind_addresses: [127.0.0.1]\n';

function issuesOf(yaml: string): string[] {
  try {
    loadConfig({ yaml });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.key}: ${i.message}`);
  }
  assert.fail('expected a ConfigError');
}

test('ingress: defaults, whip_base_url and max_active_streams as written', () => {
  assert.deepEqual(loadConfig({ yaml: base }).ingress, { whipBaseUrl: '', maxActiveStreams: DEFAULT_MAX_ACTIVE_INGRESS_STREAMS });
  const c = loadConfig({ yaml: `${base}ingress:\n  whip_base_url: https://media.example.com/w\n  max_active_streams: 3\n` });
  assert.deepEqual(c.ingress, { whipBaseUrl: 'https://media.example.com/w', maxActiveStreams: 3 });
});

test('ingress: unknown keys, bad values and rtmp_base_url (no RTMP yet) stop start-up, naming the key', () => {
  assert.deepEqual(issuesOf(`${base}ingress:\n  whip_port: 8080\n`), ['ingress.whip_port: unknown key']);
  assert.deepEqual(issuesOf(`${base}ingress:\n  whip_base_url: media.example.com\n`), [
    'ingress.whip_base_url: must be an http(s) URL such as https://example.com/w, got "media.example.com"',
  ]);
  assert.deepEqual(issuesOf(`${base}ingress:\n  max_active_streams: -1\n`), ['ingress.max_active_streams: must be between 0 and 100000, got -1']);
  const rtmp = issuesOf(`${base}ingress:\n  rtmp_base_url: rtmp://example.com/x\n`);
  assert.equal(rtmp.length, 1);
  assert.match(rtmp[0] ?? '', /^ingress\.rtmp_base_url: is not supported yet: Atrium has no RTMP ingress yet/);
});
