// What every simulated participant of the load tester shares, whatever server it signals with (LiveKit's protocol in
// load-participant.ts, Janus's API in bench/src/janus): the codecs it sends, its send stages, its socket, and the
// header-extension ids its packetizer writes.
import { UdpMux, defaultCapabilities, HeaderExtensionUri } from '@atrium/webrtc';
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import { headerStampStage } from '@atrium/webrtc/stages/header-stamp-stage.js';
import type { UdpRecvPreference } from '@atrium/webrtc/udp-recv.js';
import type { ExtensionIds } from './packetizer.js';

export const LOAD_OPUS = defaultCapabilities.audio.find((c) => c.mimeType.toLowerCase() === 'audio/opus')!;
export const LOAD_VP8 = defaultCapabilities.video.find((c) => c.mimeType.toLowerCase() === 'video/vp8')!;
const SOCKET_BUFFER_BYTES = 4 << 20;
/** Our PCs: no pacer on the publisher (sources pace themselves), header stamping for the server's estimator. */
export const LOAD_SEND_STAGES = [headerStampStage()];

/** The header-extension ids a sender negotiated, for the packetizer. */
export function senderExtensionIds(sender: LocalSender): ExtensionIds {
  return {
    mid: sender.extensionId(HeaderExtensionUri.sdesMid),
    rid: sender.extensionId(HeaderExtensionUri.rtpStreamId),
    audioLevel: sender.extensionId(HeaderExtensionUri.audioLevel),
    transportCc: sender.extensionId(HeaderExtensionUri.transportCc),
    absSendTime: sender.extensionId(HeaderExtensionUri.absSendTime),
  };
}

/**
 * A UDP socket for one simulated participant, with large buffers (bursts of a whole room's media), read with recvmmsg
 * batches when the native module is there (`auto`: a tester's CPU is mostly its receiving; docs/send-batching.md).
 * Received media is borrowed, not copied: nothing on a simulated participant's receive path keeps a packet (SRTP
 * decrypts in place, the sinks count), and a copy per packet is what made the tester's garbage collector busy.
 */
export function bindLoadMux(address: string, recv: UdpRecvPreference = 'auto'): Promise<UdpMux> {
  return UdpMux.bind({ port: 0, address, recvBufferBytes: SOCKET_BUFFER_BYTES, sendBufferBytes: SOCKET_BUFFER_BYTES, recv, recvBorrowMedia: true });
}
