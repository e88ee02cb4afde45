// Scenario for e2e/netns.test.ts, run inside a namespace by runInNetworkNamespace: UDP "server" and "client"
// sockets on 127.0.0.1 exchange paced packets (sequence number and send time in the payload) under a cap or an
// impairment, and the measured rates, losses and delays are printed as the JSON result line.
// Usage: netns-selftest-scenario.ts cap | cap-dport | impair | update | hang
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { emitScenarioResult, networkNamespaceId } from './netns.js';
import { impair } from './netns-impair.js';
import { capBandwidth, counters } from './netns-shaping.js';

/** IP + UDP + the 14-byte Ethernet header loopback frames carry: what tbf counts per packet. */
const WIRE_OVERHEAD_BYTES = 42;

interface Arrival {
  atMs: number;
  bytes: number;
  seq: number;
  delayMs: number;
}

async function bindUdp(): Promise<{ socket: Socket; port: number; arrivals: Arrival[] }> {
  const socket = createSocket('udp4');
  const arrivals: Arrival[] = [];
  socket.on('message', (msg) => {
    const now = performance.now();
    arrivals.push({ atMs: now, bytes: msg.length, seq: msg.readUInt32BE(0), delayMs: now - msg.readDoubleBE(4) });
  });
  await new Promise<void>((res) => socket.bind(0, '127.0.0.1', res));
  socket.setRecvBufferSize(4 * 1024 * 1024);
  return { socket, port: socket.address().port, arrivals };
}

/** Sends `packetBytes` datagrams at `rateKbit` (payload rate) for `durationMs`, catching up on late timer ticks. */
function sendPaced(from: Socket, toPort: number, o: { packetBytes: number; rateKbit: number; durationMs: number }): Promise<number> {
  const pps = (o.rateKbit * 1000) / 8 / o.packetBytes;
  const start = performance.now();
  let sent = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const elapsed = Math.min(performance.now() - start, o.durationMs);
      const due = Math.floor((elapsed * pps) / 1000);
      while (sent < due) {
        const b = Buffer.alloc(o.packetBytes);
        b.writeUInt32BE(sent, 0);
        b.writeDoubleBE(performance.now(), 4);
        from.send(b, toPort, '127.0.0.1');
        sent++;
      }
      if (elapsed >= o.durationMs) {
        clearInterval(timer);
        resolve(sent);
      }
    };
    const timer = setInterval(tick, 2);
  });
}

/** Payload and wire rates of the arrivals between fromMs and toMs (performance.now() times). */
function rate(arrivals: Arrival[], fromMs: number, toMs: number): { payloadKbit: number; wireKbit: number; packets: number } {
  let bytes = 0;
  let packets = 0;
  for (const a of arrivals) {
    if (a.atMs < fromMs || a.atMs >= toMs) continue;
    bytes += a.bytes;
    packets++;
  }
  const seconds = (toMs - fromMs) / 1000;
  return {
    payloadKbit: round((bytes * 8) / 1000 / seconds),
    wireKbit: round(((bytes + packets * WIRE_OVERHEAD_BYTES) * 8) / 1000 / seconds),
    packets,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
}

const round = (x: number) => Math.round(x * 100) / 100;
const until = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until nothing has arrived for `quietMs` (queues drained), at most `maxMs`. */
async function drained(arrivals: Arrival[][], quietMs = 150, maxMs = 2000): Promise<void> {
  const start = performance.now();
  for (;;) {
    const last = Math.max(0, ...arrivals.flatMap((a) => (a.length ? [a[a.length - 1]!.atMs] : [])));
    const now = performance.now();
    if (now - last >= quietMs || now - start >= maxMs) return;
    await until(20);
  }
}

async function capScenario(): Promise<unknown> {
  const server = await bindUdp();
  const client = await bindUdp();
  const cap = await capBandwidth({ sport: server.port, rateKbit: 600 });
  const t0 = performance.now();
  const opts = { packetBytes: 1000, rateKbit: 1200, durationMs: 3000 };
  const [down, up] = await Promise.all([sendPaced(server.socket, client.port, opts), sendPaced(client.socket, server.port, opts)]);
  await drained([client.arrivals, server.arrivals]);
  const tc = await cap.counters();
  const all = await counters();
  return {
    sentDown: down,
    sentUp: up,
    receivedDown: client.arrivals.length,
    receivedUp: server.arrivals.length,
    down: rate(client.arrivals, t0 + 1000, t0 + 3000),
    up: rate(server.arrivals, t0 + 1000, t0 + 3000),
    tbf: tc,
    directPackets: all.directPackets,
    classes: all.classes,
  };
}

async function capDportScenario(): Promise<unknown> {
  const server = await bindUdp();
  const a = await bindUdp();
  const b = await bindUdp();
  const cap = await capBandwidth({ sport: server.port, dport: a.port, rateKbit: 600 });
  const t0 = performance.now();
  const opts = { packetBytes: 1000, rateKbit: 1200, durationMs: 2500 };
  const [sentA, sentB] = await Promise.all([sendPaced(server.socket, a.port, opts), sendPaced(server.socket, b.port, opts)]);
  await drained([a.arrivals, b.arrivals]);
  return {
    sentA,
    sentB,
    receivedA: a.arrivals.length,
    receivedB: b.arrivals.length,
    a: rate(a.arrivals, t0 + 1000, t0 + 2500),
    b: rate(b.arrivals, t0 + 1000, t0 + 2500),
    tbf: await cap.counters(),
    directPackets: (await counters()).directPackets,
  };
}

async function impairScenario(): Promise<unknown> {
  const server = await bindUdp();
  const client = await bindUdp();
  const control = await bindUdp(); // same server port, other client port: not matched by the rule
  const imp = await impair({ sport: server.port, dport: client.port, lossPercent: 5, delayMs: 40, seed: 42 });
  const [sent, sentControl, sentUp] = await Promise.all([
    sendPaced(server.socket, client.port, { packetBytes: 200, rateKbit: 1600, durationMs: 2400 }), // 1000 pps
    sendPaced(server.socket, control.port, { packetBytes: 200, rateKbit: 320, durationMs: 2400 }), // 200 pps
    sendPaced(client.socket, server.port, { packetBytes: 200, rateKbit: 320, durationMs: 2400 }),
  ]);
  await drained([client.arrivals, control.arrivals, server.arrivals], 200);
  const stats = await imp.stats();
  const rule = await imp.ruleCounters();
  const final = await imp.stop();
  const delays = client.arrivals.map((x) => x.delayMs);
  const controlDelays = control.arrivals.map((x) => x.delayMs);
  const seqs = new Set(client.arrivals.map((x) => x.seq));
  return {
    sent,
    received: client.arrivals.length,
    duplicates: client.arrivals.length - seqs.size,
    lossPercent: round((100 * (sent - client.arrivals.length)) / sent),
    delayMedianMs: round(median(delays)),
    delayMinMs: round(Math.min(...delays)),
    delayMaxMs: round(Math.max(...delays)),
    controlSent: sentControl,
    controlReceived: control.arrivals.length,
    controlDelayMedianMs: round(median(controlDelays)),
    upSent: sentUp,
    upReceived: server.arrivals.length,
    upDelayMedianMs: round(median(server.arrivals.map((x) => x.delayMs))),
    helper: stats,
    helperFinal: final,
    helperPid: imp.pid,
    rulePackets: rule.packets,
    rulesAfterStop: (await counters()).iptables.filter((r) => r.comment.startsWith('atrium-impair')).length,
  };
}

async function updateScenario(): Promise<unknown> {
  const server = await bindUdp();
  const client = await bindUdp();
  const cap = await capBandwidth({ sport: server.port, dport: client.port, rateKbit: 300 });
  const t0 = performance.now();
  const sending = sendPaced(server.socket, client.port, { packetBytes: 1000, rateKbit: 1200, durationMs: 4000 });
  await until(2000);
  const tUpdate = performance.now();
  await cap.update(100_000); // lifts the cap
  const updateTookMs = performance.now() - tUpdate;
  const sent = await sending;
  await drained([client.arrivals]);
  const tbf = await cap.counters();
  await cap.remove();
  const after = await counters();
  return {
    sent,
    received: client.arrivals.length,
    before: rate(client.arrivals, t0 + 700, t0 + 2000),
    after: rate(client.arrivals, tUpdate + 500, t0 + 4000),
    updateTookMs: round(updateTookMs),
    tbf,
    capClassesAfterRemove: after.classes.filter((c) => c.classid === cap.classid).length,
  };
}

/** Starts an impairment and a cap, reports the helper's pid on stderr, then hangs until the runner kills it. */
async function hangScenario(): Promise<unknown> {
  const server = await bindUdp();
  const client = await bindUdp();
  await capBandwidth({ sport: server.port, rateKbit: 600 });
  const imp = await impair({ sport: server.port, lossPercent: 50, delayMs: 1000, seed: 1 });
  void sendPaced(server.socket, client.port, { packetBytes: 200, rateKbit: 160, durationMs: 60_000 });
  process.stderr.write(`hang: helper pid ${imp.pid} netns ${networkNamespaceId()}\n`);
  process.stdout.write(`${JSON.stringify({ helperPid: imp.pid })}\n`);
  await until(60_000);
  return {};
}

const scenarios: Record<string, () => Promise<unknown>> = {
  cap: capScenario,
  'cap-dport': capDportScenario,
  impair: impairScenario,
  update: updateScenario,
  hang: hangScenario,
};

const name = process.argv[2] ?? '';
const run = scenarios[name];
if (!run) {
  process.stderr.write(`unknown scenario '${name}' (one of ${Object.keys(scenarios).join(', ')})\n`);
  process.exit(2);
}
const result = await run();
emitScenarioResult({ scenario: name, netns: networkNamespaceId(), ...(result as object) });
process.exit(0);
