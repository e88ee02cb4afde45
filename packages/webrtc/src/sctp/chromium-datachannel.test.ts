// Live interop: headless Chromium's RTCPeerConnection <-> our DtlsTransport (server) + SctpTransport + DCEP.
// ICE is a minimal ICE-lite STUN responder written here (RFC 8445 §2.5, RFC 5389), so the test stands alone.
// Skipped when /usr/bin/chromium is missing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createHmac, randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import type { Page } from 'playwright-core';
import { generateCertificate } from '../dtls/certificate.js';
import { DtlsTransport } from '../dtls/dtls-transport.js';
import { SctpTransport } from './sctp-transport.js';
import type { DataChannel } from './data-channel.js';
import { hasChromium, launchChromiumContext, type ChromiumContext } from '../testing/chromium.js';
import { waitFor, withTimeout } from '../testing/wait-for.js';

/** Real-time waits in this file (Chromium over loopback): 15 s at most, polled every 20 ms. */
const polling = { timeoutMs: 15_000, intervalMs: 20 } as const;

const crc32 = (zlib as unknown as { crc32(b: Buffer): number }).crc32;

/** A STUN Binding success response with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT. */
function bindingSuccess(request: Buffer, rinfo: RemoteInfo, icePwd: string): Buffer {
  const txid = request.subarray(8, 20);
  const xorAddr = Buffer.alloc(12);
  xorAddr.writeUInt16BE(0x0020, 0);
  xorAddr.writeUInt16BE(8, 2);
  xorAddr[5] = 0x01; // IPv4
  xorAddr.writeUInt16BE(rinfo.port ^ 0x2112, 6);
  const ip = rinfo.address.split('.').map(Number);
  xorAddr.writeUInt32BE((((ip[0]! << 24) | (ip[1]! << 16) | (ip[2]! << 8) | ip[3]!) ^ 0x2112a442) >>> 0, 8);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0101, 0);
  header.writeUInt32BE(0x2112a442, 4);
  txid.copy(header, 8);
  header.writeUInt16BE(xorAddr.length + 24, 2); // length including MESSAGE-INTEGRITY
  const mac = createHmac('sha1', icePwd).update(Buffer.concat([header, xorAddr])).digest();
  const mi = Buffer.concat([Buffer.from([0x00, 0x08, 0x00, 0x14]), mac]);
  header.writeUInt16BE(xorAddr.length + 24 + 8, 2); // now also FINGERPRINT
  const body = Buffer.concat([header, xorAddr, mi]);
  const fp = Buffer.alloc(8);
  fp.writeUInt16BE(0x8028, 0);
  fp.writeUInt16BE(4, 2);
  fp.writeUInt32BE((crc32(body) ^ 0x5354554e) >>> 0, 4);
  return Buffer.concat([body, fp]);
}

describe('Chromium data channel interop', { skip: !hasChromium() && 'no /usr/bin/chromium' }, () => {
  let chromium: ChromiumContext;
  let page: Page;
  let socket: Socket;

  before(async () => {
    chromium = await launchChromiumContext();
  });

  after(async () => {
    await chromium?.close();
  });

  for (const role of ['server', 'client'] as const) {
  it(`as DTLS ${role}: opens channels both ways, echoes text and 64 KB binary, agrees on SRTP profile, closes`, async () => {
    page = await chromium.context.newPage();
    socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    const cert = await generateCertificate();
    const ufrag = randomBytes(4).toString('hex');
    const icePwd = randomBytes(16).toString('hex');
    const offer: string = await page.evaluate(async () => {
      const w = window as unknown as Record<string, unknown>;
      const pc = new RTCPeerConnection();
      const received: string[] = [];
      const remoteChannels: string[] = [];
      const dc = pc.createDataChannel('chat');
      dc.binaryType = 'arraybuffer';
      dc.onopen = () => {
        dc.send('hello atrium');
        const big = new Uint8Array(64_000);
        for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
        dc.send(big);
        dc.send('');
      };
      dc.onmessage = (e) => {
        if (typeof e.data === 'string') received.push(`text:${e.data}`);
        else {
          const u = new Uint8Array(e.data as ArrayBuffer);
          let ok = u.length === 64_000;
          for (let i = 0; ok && i < u.length; i++) ok = u[i] === (i & 0xff);
          received.push(`binary:${u.length}:${ok}`);
        }
      };
      pc.ondatachannel = (e) => {
        const ch = e.channel;
        ch.onclose = () => remoteChannels.push(`closed:${ch.label}`);
        ch.onmessage = (m) => remoteChannels.push(`${ch.label}#${ch.id}:${String(m.data)}:${ch.ordered}:${ch.maxRetransmits}`);
      };
      Object.assign(w, { pc, dc, received, remoteChannels });
      const o = await pc.createOffer();
      await pc.setLocalDescription(o);
      return o.sdp ?? '';
    });
    const fingerprint = /a=fingerprint:(\S+) (\S+)/.exec(offer);
    const mid = /a=mid:(\S+)/.exec(offer)?.[1] ?? '0';
    assert.ok(fingerprint, 'offer has a fingerprint');

    let remote: RemoteInfo | undefined;
    const dtls = new DtlsTransport({
      role,
      certificate: cert,
      remoteFingerprint: { algorithm: fingerprint[1]!, value: fingerprint[2]! },
      srtpProfiles: [0x0007, 0x0001],
      send: (buf) => remote && socket.send(buf, remote.port, remote.address),
    });
    const sctp = new SctpTransport({ isDtlsClient: role === 'client', send: (buf) => dtls.sendData(buf) });
    dtls.on('data', (buf) => sctp.handle(buf));
    dtls.on('stateChange', (s) => s === 'connected' && sctp.start());
    const incoming: DataChannel[] = [];
    sctp.on('dataChannel', (ch) => {
      incoming.push(ch);
      ch.on('message', (m) => ch.send(m)); // echo
    });
    const ours = sctp.createDataChannel('from-atrium', { ordered: false, maxRetransmits: 0 });
    ours.on('open', () => ours.send('hi browser'));
    dtls.start();

    socket.on('message', (msg, rinfo) => {
      const first = msg[0] ?? 255;
      if (first <= 3 && msg.length >= 20 && msg.readUInt16BE(0) === 0x0001) {
        // Answer every check, but send DTLS where Chromium sends DTLS from (its selected pair).
        remote ??= rinfo;
        socket.send(bindingSuccess(msg, rinfo, icePwd), rinfo.port, rinfo.address);
      } else if (first >= 20 && first <= 63) {
        remote = rinfo;
        dtls.handle(msg);
      }
    });

    const port = socket.address().port;
    const answer = [
      'v=0',
      'o=- 1 2 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=ice-lite',
      `a=group:BUNDLE ${mid}`,
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
      'c=IN IP4 127.0.0.1',
      `a=mid:${mid}`,
      `a=ice-ufrag:${ufrag}`,
      `a=ice-pwd:${icePwd}`,
      `a=fingerprint:sha-256 ${cert.fingerprint.value}`,
      `a=setup:${role === 'server' ? 'passive' : 'active'}`,
      'a=sctp-port:5000',
      'a=max-message-size:262144',
      `a=candidate:1 1 udp 2130706431 127.0.0.1 ${port} typ host`,
      'a=end-of-candidates',
      '',
    ].join('\r\n');
    await page.evaluate(async (sdp) => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      await pc.setRemoteDescription({ type: 'answer', sdp });
    }, answer);

    await waitFor(() => dtls.state === 'connected', { ...polling, label: 'DTLS connected' });
    // Chromium offers use_srtp even for data only. As DTLS server we pick GCM; as DTLS server, Chromium
    // 156 picks AES128_CM_HMAC_SHA1_80 (its own order) although we offer GCM first.
    assert.equal(dtls.srtpProfile, role === 'server' ? 0x0007 : 0x0001);
    await waitFor(() => sctp.state === 'connected' && incoming.length === 1, { ...polling, label: 'SCTP connected and the chat channel opened' });
    const chat = incoming[0]!;
    assert.equal(chat.label, 'chat');
    assert.equal(chat.id % 2, role === 'server' ? 0 : 1, 'the DTLS client uses even ids');
    assert.equal(ours.id % 2, role === 'server' ? 1 : 0);
    const read = (): Promise<{ received: string[]; remoteChannels: string[] }> =>
      page.evaluate(() => {
        const w = window as unknown as { received: string[]; remoteChannels: string[] };
        return { received: [...w.received], remoteChannels: [...w.remoteChannels] };
      });
    await waitFor(async () => (await read()).received.length === 3 && (await read()).remoteChannels.length === 1, { ...polling, label: 'the browser got 3 messages and our channel' });
    const got = await read();
    assert.deepEqual(got.received, ['text:hello atrium', 'binary:64000:true', 'text:']);
    assert.deepEqual(got.remoteChannels, [`from-atrium#${ours.id}:hi browser:false:0`]);

    // Closing: ours from our side, 'chat' from the browser's side, then the whole peer connection.
    ours.close();
    await waitFor(async () => ours.readyState === 'closed' && (await read()).remoteChannels.includes('closed:from-atrium'), { ...polling, label: 'our channel closed at both ends' });
    const chatClosed = new Promise<void>((r) => chat.once('close', () => r()));
    await page.evaluate(() => (window as unknown as { dc: RTCDataChannel }).dc.close());
    await withTimeout(chatClosed, polling.timeoutMs, "the browser's channel closed at our end");
    assert.equal(sctp.dataChannels.size, 0);
    await page.evaluate(() => (window as unknown as { pc: RTCPeerConnection }).pc.close());
    await waitFor(() => dtls.state === 'closed' || sctp.state === 'closed', { ...polling, label: 'DTLS or SCTP closed after pc.close()' });
    sctp.close();
    dtls.close();
    socket.close();
    await page.close();
  });
  }
});
