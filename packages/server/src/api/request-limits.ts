// LiveKit's size limits on RoomService requests (pkg/service/roomservice.go, limit defaults in pkg/config):
// room names, participant names, metadata and attributes past them get Twirp invalid_argument.
import { METADATA_LIMITS } from '../rtc/participant-metadata.js';
import { MAX_NAME_LENGTH } from '../auth/join-auth.js';
import { TwirpError } from './twirp.js';

/** Go's len(): UTF-8 bytes. */
const bytes = (s: string): number => Buffer.byteLength(s);

export function checkRoomName(name: string): void {
  if (bytes(name) > MAX_NAME_LENGTH) throw new TwirpError('invalid_argument', `room name length exceeds limits: max length ${MAX_NAME_LENGTH}`);
}

export function checkMetadata(metadata: string): void {
  if (bytes(metadata) > METADATA_LIMITS.maxMetadataBytes) throw new TwirpError('invalid_argument', 'metadata size exceeds limits');
}

/** UpdateParticipant's name, metadata and attributes (keys and values summed). */
export function checkParticipantUpdate(req: { name: string; metadata: string; attributes: Readonly<Record<string, string>> }): void {
  if (bytes(req.name) > METADATA_LIMITS.maxNameBytes) throw new TwirpError('invalid_argument', 'name length exceeds limits');
  checkMetadata(req.metadata);
  let total = 0;
  for (const [k, v] of Object.entries(req.attributes)) total += bytes(k) + bytes(v);
  if (total > METADATA_LIMITS.maxAttributesBytes) throw new TwirpError('invalid_argument', 'attribute size exceeds limits');
}

/** SendData's nonce is absent or a 16-byte UUID. */
export function checkNonce(nonce: Uint8Array): void {
  if (nonce.length !== 0 && nonce.length !== 16) {
    throw new TwirpError('invalid_argument', `nonce should be 16-bytes or not present, got: ${nonce.length} bytes`);
  }
}
