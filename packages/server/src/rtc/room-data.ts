// Data packets in a room: a client's DataPacket checked and stamped with its sender (destinations resolved
// from identities or sids), a server-originated packet (RoomService SendData), and delivery to recipients.
import { DataPacket, DataPacket_Kind } from '@livekit/protocol';
import type { Participant } from './participant.js';
import type { DataKind } from './participant-media.js';

/**
 * Decodes and stamps a client's packet. undefined = dropped: no canPublishData, not a DataPacket, client
 * metrics, or a transcription from a non-agent. A hidden sender is not named.
 */
export function stampClientData(
  sender: Participant,
  payload: Uint8Array,
  kind: DataKind,
  identityOfSid: (sid: string) => string | undefined,
): DataPacket | undefined {
  if (!sender.grant.canPublishData) {
    sender.logger.debug('data dropped: no canPublishData');
    return undefined;
  }
  let pkt: DataPacket;
  try {
    pkt = DataPacket.fromBinary(payload);
  } catch {
    sender.logger.debug({ bytes: payload.length }, 'data dropped: not a DataPacket');
    return undefined;
  }
  // Reliable packets carry the sender's sequence (livekit-client 2.23): after a resume the client resends what follows
  // the ReconnectResponse's last_message_seq, so one seen already is a duplicate (as LiveKit drops it).
  if (kind === 'reliable' && pkt.sequence > 0 && !sender.acceptReliableSequence(pkt.sequence)) {
    sender.logger.debug({ sequence: pkt.sequence }, 'data dropped: reliable sequence already seen (resent after a resume)');
    return undefined;
  }
  const value = pkt.value;
  if (value.case === 'metrics') return undefined;
  if (value.case === 'transcription' && !sender.grant.agent) return undefined;
  const hidden = sender.isHidden;
  pkt.participantSid = hidden ? '' : sender.sid;
  pkt.participantIdentity = hidden ? '' : sender.identity;
  pkt.kind = kind === 'reliable' ? DataPacket_Kind.RELIABLE : DataPacket_Kind.LOSSY;
  if (value.case === 'user') {
    const user = value.value;
    user.participantSid = pkt.participantSid;
    user.participantIdentity = pkt.participantIdentity;
    if (pkt.destinationIdentities.length === 0) {
      if (user.destinationIdentities.length > 0) pkt.destinationIdentities = [...user.destinationIdentities];
      else if (user.destinationSids.length > 0) {
        pkt.destinationIdentities = user.destinationSids.map(identityOfSid).filter((x): x is string => x !== undefined);
      }
    }
    user.destinationIdentities = [...pkt.destinationIdentities];
  }
  return pkt;
}

/** A server-originated packet (no sender) for everyone, or for `destinationIdentities` when non-empty. */
export function stampServerData(pkt: DataPacket, kind: DataKind, destinationIdentities: readonly string[]): DataPacket {
  pkt.participantSid = '';
  pkt.participantIdentity = '';
  pkt.destinationIdentities = [...destinationIdentities];
  pkt.kind = kind === 'reliable' ? DataPacket_Kind.RELIABLE : DataPacket_Kind.LOSSY;
  return pkt;
}

/** Sends `pkt` over each recipient's data channel: its destinations only when it names any, never to `sender`. */
export function deliverData(recipients: Iterable<Participant>, pkt: DataPacket, kind: DataKind, sender?: Participant): void {
  const destinations = pkt.destinationIdentities.length > 0 ? new Set(pkt.destinationIdentities) : undefined;
  const bytes = pkt.toBinary();
  for (const q of recipients) {
    if (q === sender || (destinations && !destinations.has(q.identity))) continue;
    try {
      q.media.sendData(bytes, kind);
    } catch (err) {
      q.logger.warn({ err }, 'sending data failed');
    }
  }
}
