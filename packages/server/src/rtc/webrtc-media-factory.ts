// The production MediaFactory: one UDP socket (ICE-lite) shared by every peer connection of the server, optionally
// one TCP listener for passive ICE-TCP (docs/ice-tcp.md), one DTLS certificate for the process, and a
// WebRtcParticipantMedia per participant.
import { TcpMux, UdpMux, isTcpMuxConnection, systemClock, type Clock, type Logger } from '@atrium/webrtc';
import { generateCertificate, type DtlsCertificate } from '@atrium/webrtc/dtls/certificate.js';
import type { MediaFactory, ParticipantMedia } from './participant-media.js';
import { WebRtcParticipantMedia } from './webrtc-participant-media.js';
import { publisherCapabilities, publisherCapabilitiesFor, subscriberCapabilities, withoutRed, withoutTransportCc } from './webrtc-track-source.js';
import type { PublishCodecs } from './publish-codecs.js';
import type { SfuStats } from '../sfu/sfu-stats.js';
import type { MediaSettings } from './media-settings.js';

export interface WebRtcMediaFactory extends MediaFactory {
  readonly udpPort: number;
  readonly mux: UdpMux;
  /** The ICE-TCP listener's port; undefined when ICE-TCP is off. */
  readonly tcpPort: number | undefined;
  readonly tcpMux: TcpMux | undefined;
}

export async function createWebRtcMediaFactory(opts: MediaSettings & {
  udpPort: number;
  /** Passive ICE-TCP on this port (0: an ephemeral one); undefined: no TCP candidates. */
  tcpPort?: number | undefined;
  bindAddress: string;
  advertisedAddress: string;
  logger: Logger;
  clock?: Clock;
  /** Node-wide media counters (metrics). */
  stats?: SfuStats;
  /** The codecs publishers may use (room.enabled_codecs): publisher answers accept only these. */
  publishCodecs?: PublishCodecs;
}): Promise<WebRtcMediaFactory> {
  const mux = await UdpMux.bind({ port: opts.udpPort, address: opts.bindAddress, logger: opts.logger.child({ component: 'udp' }) });
  let tcpMux: TcpMux | undefined;
  if (opts.tcpPort !== undefined) {
    try {
      // New connections are routed by the UdpMux's ufrag registry (ICE transports register there, restarts included).
      const resolveUfrag = (ufrag: string) => {
        const c = mux.connectionForUfrag(ufrag);
        return isTcpMuxConnection(c) ? c : undefined;
      };
      tcpMux = await TcpMux.listen({ port: opts.tcpPort, address: opts.bindAddress, logger: opts.logger.child({ component: 'tcp' }), resolveUfrag });
    } catch (err) {
      await mux.close();
      throw err;
    }
  }
  const certificate: DtlsCertificate = await generateCertificate({ commonName: 'atrium' });
  const clock = opts.clock ?? systemClock;
  const live = new Set<ParticipantMedia>();
  // room.enabled_codecs decides both sides once: publishers may send only enabled codecs, and without audio/red RED is
  // neither taken from publishers nor offered to subscribers.
  const publisherCaps = opts.publishCodecs ? publisherCapabilitiesFor(opts.publishCodecs) : publisherCapabilities;
  const isRedEnabled = opts.publishCodecs?.isEnabled('audio/red') ?? true;
  const withRedChoice = isRedEnabled ? subscriberCapabilities : withoutRed(subscriberCapabilities);
  const subscriberCaps = opts.isCongestionControlEnabled === false ? withoutTransportCc(withRedChoice) : withRedChoice;
  return {
    udpPort: mux.port,
    mux,
    tcpPort: tcpMux?.port,
    tcpMux,
    createParticipantMedia({ participantSid, identity, logger, isAdaptiveStream, subscriberAllowPause, candidateProtocol, isSinglePeerConnection }) {
      const media = new WebRtcParticipantMedia({
        mux, ...(tcpMux ? { tcpMux } : {}), ...(candidateProtocol ? { candidateProtocol } : {}), certificate, advertisedAddress: opts.advertisedAddress, clock, participantSid, identity, logger,
        onClose: () => live.delete(media),
        isAdaptiveStream: isAdaptiveStream ?? false,
        isSinglePeerConnection: isSinglePeerConnection ?? false,
        allowPause: subscriberAllowPause ?? opts.allowPause ?? false,
        isCongestionControlEnabled: opts.isCongestionControlEnabled ?? true,
        pacer: opts.pacer ?? 'no-queue',
        minChannelCapacityBps: opts.minChannelCapacityBps ?? 0,
        publisherCapabilities: publisherCaps,
        subscriberCapabilities: subscriberCaps,
        isRedEnabled,
        ...(opts.dynacastPauseDelayMs !== undefined ? { dynacastPauseDelayMs: opts.dynacastPauseDelayMs } : {}),
        ...(opts.stats ? { stats: opts.stats } : {}),
        ...(opts.audioLevel ? { audioLevel: opts.audioLevel } : {}),
        ...(opts.activeRedEncoding !== undefined ? { activeRedEncoding: opts.activeRedEncoding } : {}),
      });
      live.add(media);
      return media;
    },
    resources() {
      return { sessions: live.size, udpRegistrations: mux.registrationCount + (tcpMux?.registrationCount ?? 0) };
    },
    async close() {
      for (const m of [...live]) m.close();
      await Promise.all([mux.close(), tcpMux?.close()]);
    },
  };
}
