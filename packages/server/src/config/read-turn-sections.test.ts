// The `turn:` section and `rtc.turn_servers` in livekit.yaml: LiveKit's key names and defaults, off by default,
// TLS needing its domain and files, every problem named by its key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './load-config.js';
import { configIssues } from './config-testing.js';
import { createSelfSignedCertificate } from '@atrium/webrtc/testing/test-certificate.js';

/** Files the TLS checks read: a real certificate and key, a stray file, and nothing else. */
const certificate = await createSelfSignedCertificate();
const FILES: Record<string, string> = {
  '/etc/t.crt': certificate.cert.toString(), '/etc/t.key': certificate.key.toString(), '/etc/other.pem': 'not a PEM file',
};
certificate.remove();
const readFile = (path: string): string => {
  const text = FILES[path];
  if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
  return text;
};

function load(yaml: string) {
  return loadConfig({ yaml, dev: true, readFile });
}

const issuesOf = (yaml: string): string[] => configIssues({ yaml, dev: true, readFile });

test('no turn section: the embedded server is off, LiveKit port defaults, no outside servers', () => {
  const c = load('');
  assert.deepEqual(c.turn, {
    enabled: false, udpPort: 3478, tlsPort: 0, domain: '', certFile: '', keyFile: '', relayRangeStart: 30000, relayRangeEnd: 40000,
  });
  assert.deepEqual(c.rtc.turnServers, []);
});

test('turn: every key read', () => {
  const c = load(`
turn:
  enabled: true
  udp_port: 3479
  tls_port: 5349
  domain: turn.example.com
  cert_file: /etc/t.crt
  key_file: /etc/t.key
  relay_range_start: 50000
  relay_range_end: 50100
  external_tls: false
`);
  assert.deepEqual(c.turn, {
    enabled: true, udpPort: 3479, tlsPort: 5349, domain: 'turn.example.com', certFile: '/etc/t.crt', keyFile: '/etc/t.key',
    relayRangeStart: 50000, relayRangeEnd: 50100,
  });
});

test('turn: bad values and missing TLS settings are named by key', () => {
  assert.deepEqual(issuesOf('turn:\n  enabled: true\n  udp_port: 0\n'), ['turn: enabled with neither udp_port nor tls_port']);
  assert.deepEqual(issuesOf('turn:\n  enabled: true\n  tls_port: 5349\n'), [
    'turn.domain: is required with tls_port (the name in turns: URLs, which the certificate must cover)',
    'turn.cert_file: is required with tls_port',
    'turn.key_file: is required with tls_port',
  ]);
  assert.deepEqual(issuesOf('turn:\n  enabled: true\n  relay_range_start: 40000\n  relay_range_end: 30000\n'), [
    'turn.relay_range_end: 30000 is below relay_range_start 40000',
  ]);
  assert.deepEqual(issuesOf('turn:\n  enabled: true\n  tls_port: 1\n  domain: "bad domain"\n  cert_file: /etc/t.crt\n  key_file: /etc/t.key\n'), [
    "turn.domain: 'bad domain' is not a host name",
  ]);
  assert.deepEqual(issuesOf('turn:\n  udp_port: 70000\n  relay_range_start: 80\n  enabled: "yes"\n  stun_port: 1\n'), [
    'turn.stun_port: unknown key',
    'turn.enabled: must be true or false, got string "yes"',
    'turn.udp_port: must be between 0 and 65535, got 70000',
    'turn.relay_range_start: must be between 1024 and 65535, got 80',
  ]);
  assert.deepEqual(issuesOf('turn:\n  enabled: true\n  tls_port: 5349\n  domain: a.example\n  cert_file: /etc/missing.crt\n  key_file: /etc/t.key\n'), [
    "turn.cert_file: cannot read '/etc/missing.crt': ENOENT",
  ]);
  const unusable = issuesOf('turn:\n  enabled: true\n  tls_port: 5349\n  domain: a.example\n  cert_file: /etc/other.pem\n  key_file: /etc/t.key\n');
  assert.equal(unusable.length, 1);
  assert.match(unusable[0]!, /^turn\.cert_file: '\/etc\/other\.pem' and key_file '\/etc\/t\.key' are not a usable PEM certificate and key/);
  assert.deepEqual(issuesOf('turn:\n  external_tls: true\n'), [
    'turn.external_tls: is not supported yet: Atrium terminates TURN/TLS itself (set cert_file and key_file)',
  ]);
});

test('rtc.turn_servers: read as given; bad entries named by index and key', () => {
  const c = load(`
rtc:
  turn_servers:
    - host: turn.example.com
      port: 443
      protocol: tls
      username: u
      credential: p
    - host: 192.0.2.1
      port: 3478
      protocol: udp
`);
  assert.deepEqual(c.rtc.turnServers, [
    { host: 'turn.example.com', port: 443, protocol: 'tls', username: 'u', credential: 'p' },
    { host: '192.0.2.1', port: 3478, protocol: 'udp', username: '', credential: '' },
  ]);
  assert.deepEqual(issuesOf(`
rtc:
  turn_servers:
    - host: a.example
      port: 3478
      protocol: dtls
    - port: 1
      protocol: udp
    - host: b.example
      port: 0
      protocol: tcp
    - host: c.example
      port: 1
      protocol: udp
      secret: x
    - just a string
`), [
    "rtc.turn_servers[0].protocol: 'dtls' is not one of udp, tcp, tls",
    'rtc.turn_servers[1].host: missing',
    'rtc.turn_servers[2].port: must be between 1 and 65535, got 0',
    'rtc.turn_servers[3].secret: unknown key',
    'rtc.turn_servers[4]: must be a map, got string "just a string"',
  ]);
  assert.deepEqual(issuesOf('rtc:\n  turn_servers: nope\n'), ['rtc.turn_servers: must be a list of {host, port, protocol, username, credential}']);
});
