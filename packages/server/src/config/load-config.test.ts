import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './load-config.js';
import type { ConfigSources } from './load-config.js';
import { ConfigError } from './config-error.js';
import { LIVEKIT_DEFAULT_CODECS } from './server-config.js';

const noInterfaces = (): NodeJS.Dict<never[]> => ({});
const oneInterface = () => ({ eth0: [{ address: '10.1.2.3', family: 'IPv4' as const, internal: false, netmask: '', mac: '', cidr: null }] });

function issuesOf(sources: ConfigSources): string[] {
  try {
    loadConfig({ networkInterfaces: oneInterface, ...sources });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.code, 'config_invalid');
    assert.equal(err.message, err.issues.map((i) => `config: ${i.key}: ${i.message}`).join('\n'));
    return err.issues.map((i) => `${i.key}: ${i.message}`);
  }
  assert.fail('expected a ConfigError');
}

// Every key Atrium accepts, written the way a LiveKit operator would (values Atrium honours).
const LIVEKIT_STYLE = `
port: 7881
bind_addresses:
  - 127.0.0.1
  - "::1"
rtc:
  udp_port: 7890
  port_range_start: 0
  port_range_end: 0
  tcp_port: 0
  node_ip: 192.0.2.10
  use_external_ip: false
  media_workers: 3
  room_participants_per_worker: 8
  resume_timeout: 45
  signal_v1: false
  congestion_control:
    enabled: true
    allow_pause: true
keys:
  APIabc: "0123456789abcdef0123456789abcdef"
  APIdef: second-secret
key_file: /etc/livekit/keys.yaml
logging:
  level: debug
  json: true
room:
  auto_create: true
  empty_timeout: 600
  departure_timeout: 30
  max_participants: 0
  enabled_codecs:
    - mime: audio/opus
    - mime: video/vp8
    - mime: video/h264
      fmtp_line: profile-level-id=42e01f
webhook:
  api_key: APIabc
  urls: []
redis:
  address: ""
prometheus:
  port: 0
  username: ""
  password: ""
audio:
  active_level: 30
  min_percentile: 50
  update_interval: 500
  smooth_intervals: 3
  active_red_encoding: false
  enable_loss_proxying: false
video:
  dynacast_pause_delay: 8s
limit:
  agent_signal_message_size_limit: 1048576
agents:
  enable_user_data_recording: false
  enable_user_data_redaction: false
development: false
`;

test("LiveKit's keys load into ServerConfig", () => {
  const c = loadConfig({ yaml: LIVEKIT_STYLE, readFile: (p) => (assert.equal(p, '/etc/livekit/keys.yaml'), 'APIfile: file-secret\n') });
  assert.deepEqual(c, {
    keys: { APIabc: '0123456789abcdef0123456789abcdef', APIdef: 'second-secret', APIfile: 'file-secret' },
    port: 7881,
    bindAddresses: ['127.0.0.1', '::1'],
    rtc: {
      udpPort: 7890, tcpPort: 0, nodeIp: '192.0.2.10', congestionControl: { enabled: true, allowPause: true, pacer: 'no-queue', minChannelCapacityBps: 0 },
      mediaWorkers: 3, roomParticipantsPerWorker: 8, turnServers: [], resumeTimeoutSec: 45, signalV1: false,
    },
    turn: { enabled: false, udpPort: 3478, tlsPort: 0, domain: '', certFile: '', keyFile: '', relayRangeStart: 30000, relayRangeEnd: 40000 },
    video: { dynacastPauseDelayMs: 8000 },
    logging: { level: 'debug', json: true },
    audio: { activeLevel: 30, minPercentile: 50, updateIntervalMs: 500, smoothIntervals: 3, activeRedEncoding: false },
    development: false,
    ingress: { whipBaseUrl: '', maxActiveStreams: 50, rtmpPort: 0, rtmpBaseUrl: '' },
    web: { enabled: true, devTokens: false, tokenEndpoint: '', dir: '' },
    room: {
      autoCreate: true,
      emptyTimeoutSec: 600,
      departureTimeoutSec: 30,
      maxParticipants: 0,
      enabledCodecs: [
        { mime: 'audio/opus', fmtpLine: '' },
        { mime: 'video/vp8', fmtpLine: '' },
        { mime: 'video/h264', fmtpLine: 'profile-level-id=42e01f' },
      ],
    },
    webhook: { apiKey: 'APIabc', urls: [] },
    prometheusPort: 0,
    prometheusAuth: null,
    redis: null,
    limit: { agentSignalMessageSizeLimit: 1048576 },
    agents: { enableUserDataRecording: false, enableUserDataRedaction: false },
    egress: { fileBaseDir: 'egress', ffmpegPath: 'ffmpeg' },
  });
});

test('config-sample.yaml at the repo root loads cleanly', () => {
  const path = fileURLToPath(new URL('../../../../config-sample.yaml', import.meta.url));
  const c = loadConfig({ yaml: readFileSync(path, 'utf8') });
  assert.equal(c.port, 7880);
  assert.equal(c.rtc.udpPort, 7882);
  assert.deepEqual(c.bindAddresses, ['127.0.0.1']);
  assert.deepEqual(Object.keys(c.keys), ['APIexample']);
  assert.equal(c.development, false);
  assert.deepEqual(c.audio, { activeLevel: 35, minPercentile: 40, updateIntervalMs: 400, smoothIntervals: 2, activeRedEncoding: false });
  assert.ok(c.room.enabledCodecs.some((codec) => codec.mime === 'audio/red'), 'the sample keeps RED on');
  assert.equal(c.logging.json, false);
  assert.equal(c.prometheusAuth, null);
});

test('a minimal file: LiveKit defaults for everything else, all interfaces, node_ip picked from the machine', () => {
  const c = loadConfig({
    yaml: 'keys:\n  k: s\n',
    networkInterfaces: () => ({
      lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true, netmask: '', mac: '', cidr: null }],
      eth0: [{ address: 'fe80::1', family: 'IPv6', internal: false, netmask: '', mac: '', cidr: null, scopeid: 2 }, ...(oneInterface().eth0)],
    }),
  });
  assert.equal(c.port, 7880);
  assert.deepEqual(c.bindAddresses, ['0.0.0.0']);
  assert.equal(c.rtc.nodeIp, '10.1.2.3');
  assert.equal(c.rtc.udpPort, 7882);
  assert.equal(c.room.emptyTimeoutSec, 300);
  assert.equal(c.room.departureTimeoutSec, 20);
  assert.equal(c.rtc.resumeTimeoutSec, 20);
  assert.deepEqual(c.room.enabledCodecs.map((x) => x.mime), LIVEKIT_DEFAULT_CODECS);
  assert.equal(c.development, false);
});

const BAD: [name: string, yaml: string, expected: string][] = [
  ['unknown nested key', 'rtc:\n  udp_prot: 7882', 'rtc.udp_prot: unknown key'],
  ['unknown top-level key', 'log_level: info', 'log_level: unknown key'],
  ['unknown room key', 'room:\n  max_participant: 3', 'room.max_participant: unknown key'],
  ['port out of range', 'port: 70000', 'port: must be between 0 and 65535, got 70000'],
  ['negative port', 'rtc:\n  udp_port: -1', 'rtc.udp_port: must be between 0 and 65535, got -1'],
  ['port as text', 'port: "7880"', 'port: must be an integer, got string "7880"'],
  ['fractional timeout', 'room:\n  empty_timeout: 1.5', 'room.empty_timeout: must be an integer, got number 1.5'],
  ['udp port range', 'rtc:\n  udp_port: 7882-7890', "rtc.udp_port: port ranges ('7882-7890') are not supported yet: give one port"],
  ['unknown log level', 'logging:\n  level: loud', "logging.level: 'loud' is not one of trace, debug, info, warn, error, silent"],
  ['json not a boolean', 'logging:\n  json: "yes"', 'logging.json: must be true or false, got string "yes"'],
  ['section not a map', 'rtc: 7882', 'rtc: must be a map, got number 7882'],
  ['bind not a list', 'bind_addresses: 127.0.0.1', 'bind_addresses: must be a list, got string "127.0.0.1"'],
  ['bind not an IP', 'bind_addresses: [localhost]', "bind_addresses[0]: 'localhost' is not an IP address"],
  ['node_ip not an IP', 'rtc:\n  node_ip: example.com', "rtc.node_ip: 'example.com' is not an IP address"],
  ['codec mime', 'room:\n  enabled_codecs:\n    - mime: opus', "room.enabled_codecs[0].mime: 'opus' is not audio/NAME or video/NAME"],
  ['codec key', 'room:\n  enabled_codecs:\n    - mimetype: audio/opus', 'room.enabled_codecs[0].mimetype: unknown key'],
  ['webhook url', 'webhook:\n  api_key: k\n  urls: [ftp://x]', "webhook.urls[0]: 'ftp://x' is not an http(s) URL"],
  ['webhook key unknown', 'webhook:\n  api_key: nope\n  urls: [http://127.0.0.1:1/hook]', "webhook.api_key: 'nope' is not one of the API keys"],
  ['webhook key missing', 'webhook:\n  urls: [http://127.0.0.1:1/hook]', 'webhook.api_key: is required when webhook.urls is set'],
  ['development not a boolean', 'development: 1', 'development: must be true or false, got number 1'],
  ['redis unknown key', 'redis:\n  adress: x', 'redis.adress: unknown key'],
  ['media workers negative', 'rtc:\n  media_workers: -1', 'rtc.media_workers: must be between 0 and 64, got -1'],
  ['resume timeout too long', 'rtc:\n  resume_timeout: 601', 'rtc.resume_timeout: must be between 0 and 600, got 601'],
  ['resume timeout not a number', 'rtc:\n  resume_timeout: soon', 'rtc.resume_timeout: must be an integer, got string "soon"'],
  ['participants per worker zero', 'rtc:\n  room_participants_per_worker: 0', 'rtc.room_participants_per_worker: must be between 1 and 4294967295, got 0'],
];

for (const [name, yaml, expected] of BAD) {
  test(`bad value names its key: ${name}`, () => {
    const issues = issuesOf({ yaml: `keys:\n  k: s\n${yaml}\n`, dev: false });
    assert.ok(issues.includes(expected), `got ${JSON.stringify(issues)}`);
  });
}

test('YAML syntax errors and duplicate keys stop start-up', () => {
  assert.match(issuesOf({ yaml: 'port: [1,\n' })[0] ?? '', /^\(yaml\): /);
  assert.match(issuesOf({ yaml: 'port: 1\nport: 2\n' })[0] ?? '', /^\(yaml\): .*unique/i);
  assert.deepEqual(issuesOf({ yaml: '- a\n- b\n', dev: true }), ['(top level): must be a map, got a list']);
});

test('every problem is reported at once', () => {
  const issues = issuesOf({ yaml: 'rtc:\n  udp_prot: 1\nport: 70000\nlogging:\n  level: loud\n', dev: true });
  assert.deepEqual(
    issues.map((i) => i.split(':')[0]),
    ['rtc.udp_prot', 'logging.level', 'port'],
  );
});

const UNSUPPORTED: [yaml: string, key: string][] = [
  ['rtc:\n  port_range_start: 50000', 'rtc.port_range_start'],
  ['rtc:\n  port_range_end: 60000', 'rtc.port_range_end'],
  ['rtc:\n  use_external_ip: true', 'rtc.use_external_ip'],
  ['redis:\n  address: localhost:6379', 'redis'],
];

for (const [yaml, key] of UNSUPPORTED) {
  test(`a feature Atrium lacks is refused, not ignored: ${key}`, () => {
    const issues = issuesOf({ yaml: `keys:\n  k: s\nbind_addresses: [127.0.0.1]\n${yaml}\n` });
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.ok(issues[0]?.startsWith(`${key}: is not supported yet: `), issues[0]);
  });
}

test('rtc.tcp_port: LiveKit default 7881, 0 turns ICE-TCP off, an ephemeral UDP port makes it ephemeral too', () => {
  const head = 'keys:\n  k: s\nbind_addresses: [127.0.0.1]\n';
  assert.equal(loadConfig({ yaml: head }).rtc.tcpPort, 7881);
  assert.equal(loadConfig({ yaml: `${head}rtc:\n  tcp_port: 7990\n` }).rtc.tcpPort, 7990);
  assert.equal(loadConfig({ yaml: `${head}rtc:\n  tcp_port: 0\n` }).rtc.tcpPort, 0);
  assert.equal(loadConfig({ yaml: `${head}rtc:\n  udp_port: 0\n` }).rtc.tcpPort, 'ephemeral');
  assert.equal(loadConfig({ yaml: `${head}rtc:\n  udp_port: 0\n  tcp_port: 7990\n` }).rtc.tcpPort, 7990);
  assert.deepEqual(issuesOf({ yaml: `${head}rtc:\n  tcp_port: 70000\n` }).map((i) => i.split(':')[0]), ['rtc.tcp_port']);
});

test('room.auto_create: false and room.max_participants are honoured settings', () => {
  const c = loadConfig({ yaml: 'keys:\n  k: s\nbind_addresses: [127.0.0.1]\nroom:\n  auto_create: false\n  max_participants: 10\n' });
  assert.equal(c.room.autoCreate, false);
  assert.equal(c.room.maxParticipants, 10);
});

test('room.enabled_codecs narrows what publishers may use (an honoured setting, not refused)', () => {
  const c = loadConfig({ yaml: 'keys:\n  k: s\nbind_addresses: [127.0.0.1]\nroom:\n  enabled_codecs:\n    - mime: audio/opus\n    - mime: video/VP8\n' });
  assert.deepEqual(c.room.enabledCodecs.map((x) => x.mime), ['audio/opus', 'video/VP8']);
});

test('missing secrets and missing keys', () => {
  assert.deepEqual(issuesOf({ yaml: 'keys:\n  k1:\n' }), ['keys.k1: missing secret']);
  assert.deepEqual(issuesOf({ yaml: 'keys:\n  k1: ""\n' }), ['keys.k1: missing secret']);
  assert.deepEqual(issuesOf({ yaml: 'keys:\n  k1: 12345\n' }), ['keys.k1: secret must be a string (quote it), got number 12345']);
  assert.deepEqual(issuesOf({ yaml: 'port: 7880\n' }), ['keys: no API keys: set keys or key_file, --keys or LIVEKIT_KEYS (or use --dev)']);
  assert.deepEqual(issuesOf({}), ['keys: no API keys: set keys or key_file, --keys or LIVEKIT_KEYS (or use --dev)']);
  assert.deepEqual(issuesOf({ keys: 'k1:', keysSource: 'LIVEKIT_KEYS', dev: true }), ['LIVEKIT_KEYS.k1: missing secret']);
});

test('--keys / LIVEKIT_KEYS: "key: secret" lines, every value a string, replacing the file keys', () => {
  const file = 'keys:\n  filekey: filesecret\n';
  assert.deepEqual(loadConfig({ yaml: file, keys: 'k1: s1', networkInterfaces: noInterfaces, flags: { bindAddresses: ['127.0.0.1'] } }).keys, { k1: 's1' });
  assert.deepEqual(loadConfig({ keys: 'k1: s1\nk2: 12345\n', dev: true }).keys, { k1: 's1', k2: '12345' });
  assert.deepEqual(loadConfig({ keys: '{k1: s1, k2: s2}', dev: true }).keys, { k1: 's1', k2: 's2' });
  assert.deepEqual(issuesOf({ keys: 'just-a-word', dev: true }), ['--keys: not a "key: secret" list']);
  assert.deepEqual(issuesOf({ keys: '', keysSource: 'LIVEKIT_KEYS', dev: true }), ['LIVEKIT_KEYS: not a "key: secret" list']);
});

test('--dev: devkey/secret and loopback unless the file says otherwise; development: true does the same', () => {
  const dev = loadConfig({ dev: true });
  assert.deepEqual(dev.keys, { devkey: 'secret' });
  assert.deepEqual(dev.bindAddresses, ['127.0.0.1']);
  assert.equal(dev.rtc.nodeIp, '127.0.0.1');
  assert.equal(dev.development, true);
  assert.deepEqual(dev, loadConfig({ yaml: 'development: true\n' }));
  const withFile = loadConfig({ dev: true, yaml: 'keys:\n  mine: s3cret\nbind_addresses: ["::1"]\n' });
  assert.deepEqual(withFile.keys, { mine: 's3cret' });
  assert.deepEqual(withFile.bindAddresses, ['::1']);
  assert.equal(withFile.rtc.nodeIp, '::1');
});

test('flags override the file', () => {
  const c = loadConfig({
    yaml: 'keys: {k: s}\nport: 7000\nrtc: {udp_port: 7001, node_ip: 10.0.0.1}\nlogging: {level: warn}\nbind_addresses: [127.0.0.1]\n',
    flags: { port: 0, rtc: { udpPort: 0 }, logging: { level: 'silent' }, bindAddresses: ['127.0.0.2'] },
  });
  assert.equal(c.port, 0);
  assert.equal(c.rtc.udpPort, 0);
  assert.equal(c.rtc.nodeIp, '10.0.0.1');
  assert.equal(c.logging.level, 'silent');
  assert.deepEqual(c.bindAddresses, ['127.0.0.2']);
});

test('key_file: read, merged with keys; unreadable or conflicting files are errors', () => {
  const yaml = 'keys: {a: one}\nkey_file: keys.yaml\nbind_addresses: [127.0.0.1]\n';
  assert.deepEqual(loadConfig({ yaml, readFile: () => 'b: two\n' }).keys, { a: 'one', b: 'two' });
  assert.deepEqual(issuesOf({ yaml, readFile: () => 'a: other\n' }), ["key_file: key 'a' is also in keys with another secret"]);
  const enoent = (): string => {
    throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
  };
  assert.deepEqual(issuesOf({ yaml: 'key_file: /nope.yaml\n' }), ["key_file: cannot read '/nope.yaml': ENOENT"]);
  assert.deepEqual(issuesOf({ yaml: 'key_file: /nope.yaml\n', readFile: enoent }), ["key_file: cannot read '/nope.yaml': ENOENT"]);
  assert.deepEqual(issuesOf({ yaml: 'key_file: k.yaml\n', readFile: () => 'b:\n' }), ['key_file (k.yaml).b: missing secret']);
});

test('binding all interfaces with no usable address needs rtc.node_ip', () => {
  assert.deepEqual(issuesOf({ yaml: 'keys: {k: s}\nbind_addresses: [""]\n', networkInterfaces: noInterfaces }), [
    'rtc.node_ip: binding 0.0.0.0 needs rtc.node_ip (--node-ip): the address clients reach this server at',
  ]);
  const c = loadConfig({ yaml: 'keys: {k: s}\nbind_addresses: [""]\nrtc: {node_ip: 203.0.113.5}\n' });
  assert.deepEqual(c.bindAddresses, ['0.0.0.0']);
  assert.equal(c.rtc.nodeIp, '203.0.113.5');
});

test('webhook urls load (webhooks are sent)', () => {
  const config = loadConfig({
    networkInterfaces: oneInterface,
    yaml: 'keys:\n  k: s\nbind_addresses: [127.0.0.1]\nwebhook:\n  api_key: k\n  urls: [http://127.0.0.1:1/hook, https://example.com/lk]\n',
  });
  assert.deepEqual(config.webhook, { apiKey: 'k', urls: ['http://127.0.0.1:1/hook', 'https://example.com/lk'] });
});

test("audio: LiveKit's defaults, each key read, out-of-range values refused naming the key", () => {
  const base = { yaml: 'keys: {k: s}\nbind_addresses: [127.0.0.1]\n' };
  assert.deepEqual(loadConfig(base).audio, { activeLevel: 35, minPercentile: 40, updateIntervalMs: 400, smoothIntervals: 2, activeRedEncoding: false });
  const some = loadConfig({ yaml: `${base.yaml}audio:\n  active_level: 50\n  update_interval: 200\n  active_red_encoding: true\n` }).audio;
  assert.deepEqual(some, { activeLevel: 50, minPercentile: 40, updateIntervalMs: 200, smoothIntervals: 2, activeRedEncoding: true });
  const bad: [string, string][] = [
    ['active_level: 128', 'audio.active_level: must be between 0 and 127, got 128'],
    ['active_level: -1', 'audio.active_level: must be between 0 and 127, got -1'],
    ['active_level: loud', 'audio.active_level: must be an integer, got string "loud"'],
    ['min_percentile: 101', 'audio.min_percentile: must be between 0 and 100, got 101'],
    ['update_interval: 5', 'audio.update_interval: must be between 10 and 60000, got 5'],
    ['update_interval: 0', 'audio.update_interval: must be between 10 and 60000 ms (0 does not turn speaker detection off in Atrium)'],
    ['update_interval: 400.5', 'audio.update_interval: must be an integer, got number 400.5'],
    ['smooth_intervals: 1000', 'audio.smooth_intervals: must be between 0 and 100, got 1000'],
    ['active_levle: 30', 'audio.active_levle: unknown key'],
  ];
  for (const [line, expected] of bad) {
    assert.deepEqual(issuesOf({ yaml: `${base.yaml}audio:\n  ${line}\n` }), [expected], line);
  }
  const lossProxying = issuesOf({ yaml: `${base.yaml}audio:\n  active_red_encoding: true\n  enable_loss_proxying: true\n` });
  assert.equal(lossProxying.length, 1, JSON.stringify(lossProxying));
  assert.match(lossProxying[0] ?? '', /^audio\.enable_loss_proxying: is not supported yet: /);
  assert.deepEqual(issuesOf({ yaml: `${base.yaml}audio:\n  active_red_encoding: yes\n` }), ['audio.active_red_encoding: must be true or false, got string "yes"']);
  assert.deepEqual(issuesOf({ yaml: `${base.yaml}audio: 3\n` }), ['audio: must be a map, got number 3']);
});

test('prometheus.port / prometheus_port: either, or both when equal; basic auth needs both username and password', () => {
  const base = 'keys: {k: s}\nbind_addresses: [127.0.0.1]\n';
  const load = (yaml: string) => loadConfig({ yaml: base + yaml });
  assert.equal(load('').prometheusPort, 0);
  assert.equal(load('').prometheusAuth, null);
  assert.equal(load('prometheus_port: 6789\n').prometheusPort, 6789);
  assert.equal(load('prometheus:\n  port: 6790\n').prometheusPort, 6790);
  assert.equal(load('prometheus_port: 6791\nprometheus:\n  port: 6791\n').prometheusPort, 6791);
  assert.equal(load('prometheus_port: 0\nprometheus:\n  port: 6792\n').prometheusPort, 6792);
  assert.equal(load('prometheus_port: 6793\nprometheus:\n  port: 0\n').prometheusPort, 6793);
  assert.deepEqual(issuesOf({ yaml: `${base}prometheus_port: 6789\nprometheus:\n  port: 6790\n` }), [
    'prometheus.port: is 6790 but prometheus_port (its older name) is 6789: set only prometheus.port',
  ]);
  const auth = load('prometheus:\n  port: 6790\n  username: scraper\n  password: "s3cret: yes"\n');
  assert.deepEqual(auth.prometheusAuth, { username: 'scraper', password: 's3cret: yes' });
  assert.deepEqual(issuesOf({ yaml: `${base}prometheus:\n  port: 1\n  username: scraper\n` }), [
    'prometheus.password: is missing: set both prometheus.username and prometheus.password, or neither',
  ]);
  assert.deepEqual(issuesOf({ yaml: `${base}prometheus:\n  password: p\n` }), [
    'prometheus.username: is missing: set both prometheus.username and prometheus.password, or neither',
  ]);
  assert.deepEqual(issuesOf({ yaml: `${base}prometheus:\n  port: 70000\n  user: x\n` }), [
    'prometheus.user: unknown key',
    'prometheus.port: must be between 0 and 65535, got 70000',
  ]);
});

test('rtc.congestion_control: enabled, allow_pause, pacer and allocator keys honoured; estimator tuning refused', () => {
  const base = 'keys: {k: s}\nbind_addresses: [127.0.0.1]\n';
  assert.deepEqual(loadConfig({ yaml: base }).rtc.congestionControl, { enabled: true, allowPause: false, pacer: 'no-queue', minChannelCapacityBps: 0 });
  const c = loadConfig({ yaml: `${base}rtc:\n  congestion_control:\n    enabled: false\n    allow_pause: true\n    send_side_bwe_pacer: leaky-bucket\n` });
  assert.deepEqual(c.rtc.congestionControl, { enabled: false, allowPause: true, pacer: 'leaky-bucket', minChannelCapacityBps: 0 });
  const all = loadConfig({
    yaml: `${base}rtc:\n  congestion_control:\n    use_send_side_bwe: true\n    send_side_bwe_pacer: pass-through\n    stream_allocator:\n      probe_mode: padding\n      min_channel_capacity: 200000\n`,
  });
  assert.deepEqual(all.rtc.congestionControl, { enabled: true, allowPause: false, pacer: 'pass-through', minChannelCapacityBps: 200_000 });
  assert.deepEqual(issuesOf({ yaml: `${base}rtc:\n  congestion_control:\n    send_side_bwe_pacer: fast\n` }),
    ["rtc.congestion_control.send_side_bwe_pacer: 'fast' is not one of no-queue, pass-through, leaky-bucket"]);
  assert.match(issuesOf({ yaml: `${base}rtc:\n  congestion_control:\n    use_send_side_bwe: false\n` })[0] ?? '',
    /^rtc\.congestion_control\.use_send_side_bwe: Atrium estimates bandwidth on the send side only/);
  assert.match(issuesOf({ yaml: `${base}rtc:\n  congestion_control:\n    stream_allocator:\n      probe_mode: media\n` })[0] ?? '',
    /^rtc\.congestion_control\.stream_allocator\.probe_mode: 'media' is not supported/);
  assert.deepEqual(issuesOf({ yaml: `${base}rtc:\n  congestion_control:\n    stream_allocator:\n      probe_mod: padding\n` }),
    ['rtc.congestion_control.stream_allocator.probe_mod: unknown key']);
  assert.deepEqual(issuesOf({ yaml: `${base}rtc:\n  congestion_control:\n    allow_pause: 1\n` }),
    ['rtc.congestion_control.allow_pause: must be true or false, got number 1']);
  assert.deepEqual(issuesOf({ yaml: `${base}rtc:\n  congestion_control:\n    alow_pause: true\n` }),
    ['rtc.congestion_control.alow_pause: unknown key']);
  const tuning = issuesOf({ yaml: `${base}rtc:\n  congestion_control:\n    send_side_bwe:\n      x: 1\n` });
  assert.equal(tuning.length, 1, JSON.stringify(tuning));
  assert.match(tuning[0] ?? '', /^rtc\.congestion_control\.send_side_bwe: is not supported yet: /);
});

test('video.dynacast_pause_delay: a Go duration; other video keys refused', () => {
  const base = 'keys: {k: s}\nbind_addresses: [127.0.0.1]\n';
  assert.equal(loadConfig({ yaml: base }).video.dynacastPauseDelayMs, 5000);
  for (const [text, ms] of [['"2s"', 2000], ['500ms', 500], ['1m30s', 90_000], ['1.5s', 1500], ['0', 0], ['3', 3000]] as const) {
    assert.equal(loadConfig({ yaml: `${base}video:\n  dynacast_pause_delay: ${text}\n` }).video.dynacastPauseDelayMs, ms, text);
  }
  for (const text of ['5 seconds', '-1s', '2h', 's']) {
    const issues = issuesOf({ yaml: `${base}video:\n  dynacast_pause_delay: ${text}\n` });
    assert.equal(issues.length, 1, text);
    assert.match(issues[0] ?? '', /^video\.dynacast_pause_delay: must be a duration/, text);
  }
  const refused = issuesOf({ yaml: `${base}video:\n  codec_regression_threshold: 5\n` });
  assert.match(refused[0] ?? '', /^video\.codec_regression_threshold: is not supported yet: /);
});

test("limit.agent_signal_message_size_limit: LiveKit's 2 MiB default, 0 for none, bounds; other limit keys unknown", () => {
  const base = 'keys: {k: s}\nbind_addresses: [127.0.0.1]\n';
  assert.equal(loadConfig({ yaml: base }).limit.agentSignalMessageSizeLimit, 2 * 1024 * 1024);
  assert.equal(loadConfig({ yaml: `${base}limit:\n  agent_signal_message_size_limit: 0\n` }).limit.agentSignalMessageSizeLimit, 0);
  assert.equal(loadConfig({ yaml: `${base}limit:\n  agent_signal_message_size_limit: 65536\n` }).limit.agentSignalMessageSizeLimit, 65536);
  assert.equal(loadConfig({ yaml: base, flags: { limit: { agentSignalMessageSizeLimit: 7 } } }).limit.agentSignalMessageSizeLimit, 7);
  assert.deepEqual(issuesOf({ yaml: `${base}limit:\n  agent_signal_message_size_limit: -1\n` }), [
    'limit.agent_signal_message_size_limit: must be between 0 and 2147483647, got -1',
  ]);
  assert.deepEqual(issuesOf({ yaml: `${base}limit:\n  agent_signal_message_size_limit: 4294967296\n` }), [
    'limit.agent_signal_message_size_limit: must be between 0 and 2147483647, got 4294967296',
  ]);
  assert.deepEqual(issuesOf({ yaml: `${base}limit:\n  agent_signal_message_size_limit: 2MiB\n` }), [
    'limit.agent_signal_message_size_limit: must be an integer, got string "2MiB"',
  ]);
  assert.deepEqual(issuesOf({ yaml: `${base}limit:\n  num_tracks: 10\n` }), ['limit.num_tracks: unknown key']);
});

test('agents: recording/redaction flags read into the config; target_load refused as not supported yet', () => {
  const base = 'keys: {k: s}\nbind_addresses: [127.0.0.1]\n';
  assert.deepEqual(loadConfig({ yaml: base }).agents, { enableUserDataRecording: false, enableUserDataRedaction: false });
  assert.deepEqual(loadConfig({ yaml: `${base}agents:\n  enable_user_data_recording: true\n  enable_user_data_redaction: true\n` }).agents, {
    enableUserDataRecording: true,
    enableUserDataRedaction: true,
  });
  const refused = issuesOf({ yaml: `${base}agents:\n  enable_user_data_recording: true\n  target_load: 0.5\n` });
  assert.deepEqual(refused.map((i) => i.replace(/: is not supported yet: .*/, '')), ['agents.target_load']);
  assert.match(refused[0] ?? '', /LiveKit takes jobs only while a worker is below target_load/);
  assert.deepEqual(issuesOf({ yaml: `${base}agents:\n  target_load: high\n` }), ['agents.target_load: must be a number, got "high"']);
  assert.deepEqual(issuesOf({ yaml: `${base}agents:\n  target_load: 1.5\n` }), ['agents.target_load: must be between 0 and 1 (a worker load), got 1.5']);
  assert.deepEqual(issuesOf({ yaml: `${base}agents:\n  enable_user_data_recording: yes please\n` }), [
    'agents.enable_user_data_recording: must be true or false, got string "yes please"',
  ]);
  assert.deepEqual(issuesOf({ yaml: `${base}agents:\n  namespace: x\n` }), ['agents.namespace: unknown key']);
});
