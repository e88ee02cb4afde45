// The transport a participant's subscribed tracks go out on: its own subscriber PeerConnection on which we offer
// (LiveKit signalling v0, subscriber-pc-downstream.ts), or the client's single PeerConnection on which the client
// offers and we answer (v1, single-pc-downstream.ts). WebRtcParticipantMedia keeps the subscriptions, down tracks and
// congestion control once for both; only where senders live and how a renegotiation is asked for differ.
import type { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import type { CodecCapability } from '@atrium/webrtc';
import type { DataChannel } from '@atrium/webrtc/sctp/data-channel.js';
import type { SessionDescriptionMessage, SignalTargetValue } from './participant-media.js';

export interface DownstreamSenderOptions {
  kind: 'audio' | 'video';
  streamId: string;
  trackId: string;
  codec: CodecCapability;
  alternatives?: readonly CodecCapability[];
}

/** LiveKit's MediaSectionsRequirement: how many recvonly m-lines of each kind the client should add, then offer. */
export interface MediaSectionsRequirementMessage {
  numAudios: number;
  numVideos: number;
}

/** What a downstream needs from the participant's media. */
export interface DownstreamHost {
  /** A server-role PeerConnection for the subscriber side (v0). */
  createSubscriberPc(): PeerConnection;
  /** The transport media goes out on now exists: wire connection state, congestion control. */
  onTransport(pc: PeerConnection): void;
  /** A data channel we created on the downstream transport (v0's `_reliable`, `_lossy`, `_data_track`). */
  onOwnChannel(ch: DataChannel): void;
  /** mid -> track sid of every subscription placed on an m-line. */
  midToTrackId(): Record<string, string>;
  emitOffer(sd: SessionDescriptionMessage): void;
  emitMediaSectionsRequirement(req: MediaSectionsRequirementMessage): void;
  /** Trickle the PC's candidates (once per ICE generation) after its description went out. */
  trickle(pc: PeerConnection, target: SignalTargetValue): void;
  isClosed(): boolean;
}

export interface Downstream {
  /** The PeerConnection subscribed media goes out on, once it exists. */
  readonly pc: PeerConnection | undefined;
  /** Creates the transport when it is ours to create (v0); nothing for the client's PC. */
  start(): void;
  addSender(opts: DownstreamSenderOptions): LocalSender;
  removeSender(sender: LocalSender): void;
  /** Something the client must learn by renegotiating changed (changes in one turn share one round trip). */
  negotiate(): void;
  /** After a resume: new ICE credentials where the server offers (v0); the client restarts its own PC (v1). */
  restartIce(): void;
  close(): void;
}
