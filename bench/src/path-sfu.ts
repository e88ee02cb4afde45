// The SFU side of bench/src/path.bench.ts, run as its own process so its CPU time is measured alone:
// one UDP socket, server-role PeerConnections (ICE-lite, DTLS, SRTP), the RTP demuxer, one sfu Receiver
// and one DownTrack per subscriber. Driven over IPC by the benchmark (SDP exchange, counters).
import { UdpMux, systemClock, defaultCapabilities } from '@atrium/webrtc';
import { generateCertificate } from '@atrium/webrtc/dtls/certificate.js';
import { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import { HeaderExtensionUri } from '@atrium/webrtc/sdp/capabilities.js';
import { HeaderStampStage } from '@atrium/webrtc/stages/header-stamp-stage.js';
import { SendSideController } from '@atrium/webrtc/cc/send-side-controller.js';
import { Receiver } from '@atrium/server/sfu/receiver.js';
import { DownTrack } from '@atrium/server/sfu/down-track.js';

export type SfuRequest =
  | { op: 'publish'; offer: string }
  | { op: 'subscribe'; count: number; cc: boolean }
  | { op: 'answers'; answers: string[] }
  | { op: 'stats' }
  | { op: 'exit' };

const send = (msg: unknown): void => {
  process.send!(msg);
};

const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1', recvBufferBytes: 8 << 20, sendBufferBytes: 8 << 20 });
const certificate = await generateCertificate();
const vp8 = defaultCapabilities.video.find((c) => c.mimeType === 'video/VP8')!;
const pcs: PeerConnection[] = [];
let receiver: Receiver | undefined;
const senders: LocalSender[] = [];
let subscriberPcs: PeerConnection[] = [];
/** Congestion control on the subscriber transports: TWCC stamping, feedback into the estimator, pacing at the estimate. */
let isCc = false;
const controllers: SendSideController[] = [];

function server(): PeerConnection {
  const pc = new PeerConnection({ role: 'server', mux, certificate, advertisedAddress: '127.0.0.1' });
  pcs.push(pc);
  return pc;
}

process.on('message', (msg: SfuRequest) => {
  switch (msg.op) {
    case 'publish': {
      const pc = server();
      const r = new Receiver({
        kind: 'video', mimeType: 'video/VP8', clockRate: 90000, clock: systemClock,
        sendRtcp: (pkt) => pc.sendRtcp(pkt),
      });
      receiver = r;
      pc.on('remoteStream', (stream) => {
        stream.onRtp = (buf, h, meta) => r.writeRtp(buf, h, meta);
      });
      send({ op: 'answer', answer: pc.handleOffer(msg.offer) });
      break;
    }
    case 'subscribe': {
      subscriberPcs = [];
      isCc = msg.cc;
      const offers: string[] = [];
      for (let i = 0; i < msg.count; i++) {
        const pc = server();
        senders.push(pc.addSender({ kind: 'video', streamId: 'PA_bench|TR_bench', trackId: 'TR_bench', codec: vp8 }));
        subscriberPcs.push(pc);
        offers.push(pc.createOffer());
      }
      send({ op: 'offers', offers });
      break;
    }
    case 'answers': {
      msg.answers.forEach((answer, i) => {
        const pc = subscriberPcs[i]!;
        pc.handleAnswer(answer);
        const sender = senders[senders.length - msg.answers.length + i]!;
        const transportCcId = isCc ? sender.extensionId(HeaderExtensionUri.transportCc) : 0;
        const down = new DownTrack({
          source: receiver!, ssrc: sender.ssrc, payloadType: sender.payloadType, send: (p, h) => sender.sendRtp(p, h), clock: systemClock,
          ...(transportCcId > 0 ? { transportCcId } : {}),
        });
        if (isCc) {
          const stamp = pc.stages.send.find((st): st is HeaderStampStage => st instanceof HeaderStampStage)!;
          const cc = new SendSideController({ clock: systemClock, history: stamp.history, pacer: pc.pacer });
          pc.on('transportFeedback', (fb) => {
            if (fb.type === 'twcc') cc.onTransportFeedback(fb);
          });
          controllers.push(cc);
        }
        sender.onRtcp = (pkt) => down.handleRtcp([pkt]);
        receiver!.addSender(down);
      });
      send({ op: 'subscribed' });
      break;
    }
    case 'stats': {
      const cpu = process.cpuUsage();
      const states = pcs.map((pc) => pc.connectionState);
      send({
        op: 'stats', cpuUs: cpu.user + cpu.system, packetsIn: receiver?.packetsReceived ?? 0,
        packetsOut: senders.reduce((n, s) => n + s.packetsSent, 0), connected: states.every((s) => s === 'connected'),
        feedbacks: controllers.reduce((n, c) => n + c.feedbacks, 0),
        estimateBps: controllers.length === 0 ? 0 : Math.min(...controllers.map((c) => c.estimateBps())),
      });
      break;
    }
    case 'exit':
      for (const pc of pcs) pc.close();
      void mux.close().then(() => process.exit(0));
      break;
  }
});
send({ op: 'ready' });
