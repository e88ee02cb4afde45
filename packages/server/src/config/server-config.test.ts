import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { devConfig, LIVEKIT_DEFAULT_CODECS, DEFAULT_ROOM_PARTICIPANTS_PER_WORKER, DEFAULT_SIGNAL_V1 } from './server-config.js';

test('dev defaults', () => {
  const c = devConfig();
  assert.deepEqual(c, {
    keys: { devkey: 'secret' },
    port: 7880,
    bindAddresses: ['127.0.0.1'],
    rtc: {
      udpPort: 7882, tcpPort: 7881, nodeIp: '127.0.0.1', congestionControl: { enabled: true, allowPause: false, pacer: 'no-queue', minChannelCapacityBps: 0 },
      // One media worker per core.
      mediaWorkers: Math.min(16, availableParallelism()), roomParticipantsPerWorker: DEFAULT_ROOM_PARTICIPANTS_PER_WORKER,
      turnServers: [], resumeTimeoutSec: 20, signalV1: DEFAULT_SIGNAL_V1,
    },
    // The embedded TURN server is off; LiveKit's port defaults (docs/turn.md).
    turn: { enabled: false, udpPort: 3478, tlsPort: 0, domain: '', certFile: '', keyFile: '', relayRangeStart: 30000, relayRangeEnd: 40000 },
    video: { dynacastPauseDelayMs: 5000 },
    logging: { level: 'info', json: false },
    audio: { activeLevel: 35, minPercentile: 40, updateIntervalMs: 400, smoothIntervals: 2, activeRedEncoding: false },
    development: true,
    ingress: { whipBaseUrl: '', maxActiveStreams: 50, rtmpPort: 0, rtmpBaseUrl: '' },
    web: { enabled: true, devTokens: true, tokenEndpoint: '', dir: '' },
    room: {
      autoCreate: true,
      emptyTimeoutSec: 300,
      departureTimeoutSec: 20,
      maxParticipants: 0,
      enabledCodecs: LIVEKIT_DEFAULT_CODECS.map((mime) => ({ mime, fmtpLine: '' })),
    },
    webhook: { apiKey: '', urls: [] },
    prometheusPort: 0,
    prometheusAuth: null,
    redis: null,
    limit: { agentSignalMessageSizeLimit: 2 * 1024 * 1024 },
    agents: { enableUserDataRecording: false, enableUserDataRedaction: false },
    egress: { fileBaseDir: 'egress', ffmpegPath: 'ffmpeg' },
  });
  assert.equal(c.room.enabledCodecs.length, 10);
});

test('overrides merge per section; nodeIp follows the first bind address', () => {
  const c = devConfig({ port: 0, rtc: { udpPort: 0 }, bindAddresses: ['10.0.0.2', '127.0.0.1'], room: { departureTimeoutSec: 1 } });
  assert.equal(c.port, 0);
  assert.equal(c.rtc.udpPort, 0);
  assert.equal(c.rtc.nodeIp, '10.0.0.2');
  assert.equal(c.room.emptyTimeoutSec, 300);
  assert.equal(c.room.departureTimeoutSec, 1);
});

test('ICE-TCP: 7881 by default (LiveKit), ephemeral when the UDP port is, as named otherwise', () => {
  assert.equal(devConfig().rtc.tcpPort, 7881);
  assert.equal(devConfig({ rtc: { udpPort: 0 } }).rtc.tcpPort, 'ephemeral');
  assert.equal(devConfig({ rtc: { udpPort: 0, tcpPort: 0 } }).rtc.tcpPort, 0);
  assert.equal(devConfig({ rtc: { tcpPort: 9000 } }).rtc.tcpPort, 9000);
});
