// A client's own name/metadata/attributes update (SignalRequest.update_metadata, docs/livekit-protocol.md 5):
// allowed with canUpdateOwnMetadata, within LiveKit's size limits, answered with a RequestResponse.
import { SignalResponse, RequestResponse, RequestResponse_Reason } from '@livekit/protocol';
import type { UpdateParticipantMetadata } from '@livekit/protocol';
import type { Participant } from './participant.js';

/** LiveKit's default limits (pkg/config/config.go): bytes, as Go's len() counts them. */
export const METADATA_LIMITS = {
  maxNameBytes: 256,
  maxMetadataBytes: 512 * 1024,
  /** Sum of key and value lengths. */
  maxAttributesBytes: 64 * 1024,
} as const;

export type MetadataLimits = { maxNameBytes: number; maxMetadataBytes: number; maxAttributesBytes: number };

export interface MetadataVerdict {
  reason: RequestResponse_Reason;
  message: string;
}

/** Checks an update as LiveKit's ParticipantImpl.UpdateMetadata does: permission first, then the limits. */
export function checkMetadataUpdate(
  update: Pick<UpdateParticipantMetadata, 'name' | 'metadata' | 'attributes'>,
  canUpdateOwnMetadata: boolean,
  limits: MetadataLimits = METADATA_LIMITS,
): MetadataVerdict {
  if (!canUpdateOwnMetadata) {
    return { reason: RequestResponse_Reason.NOT_ALLOWED, message: 'does not have permission to update own metadata' };
  }
  if (Buffer.byteLength(update.name) > limits.maxNameBytes) {
    return { reason: RequestResponse_Reason.LIMIT_EXCEEDED, message: 'exceeds name length limit' };
  }
  if (Buffer.byteLength(update.metadata) > limits.maxMetadataBytes) {
    return { reason: RequestResponse_Reason.LIMIT_EXCEEDED, message: 'exceeds metadata size limit' };
  }
  let attributeBytes = 0;
  for (const [k, v] of Object.entries(update.attributes)) attributeBytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (attributeBytes > limits.maxAttributesBytes) {
    return { reason: RequestResponse_Reason.LIMIT_EXCEEDED, message: 'exceeds attributes size limit' };
  }
  return { reason: RequestResponse_Reason.OK, message: '' };
}

/** The part of an allowed update that changes something: empty name/metadata mean "unchanged" (as LiveKit). */
export function metadataChange(
  current: { name: string; metadata: string; attributes: Readonly<Record<string, string>> },
  update: Pick<UpdateParticipantMetadata, 'name' | 'metadata' | 'attributes'>,
): { name?: string; metadata?: string; attributes?: Record<string, string> } | undefined {
  const change: { name?: string; metadata?: string; attributes?: Record<string, string> } = {};
  if (update.name !== '' && update.name !== current.name) change.name = update.name;
  if (update.metadata !== '' && update.metadata !== current.metadata) change.metadata = update.metadata;
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(update.attributes)) {
    const has = Object.prototype.hasOwnProperty.call(current.attributes, k);
    if (v === '' ? has : current.attributes[k] !== v) attributes[k] = v;
  }
  if (Object.keys(attributes).length > 0) change.attributes = attributes;
  return Object.keys(change).length > 0 ? change : undefined;
}

/**
 * Handles UpdateParticipantMetadata from `p`'s client: applies it (others then see a ParticipantUpdate) and answers
 * with RequestResponse. OK answers go only to protocol > 14 clients, as LiveKit (older ones do not expect them).
 */
export function handleMetadataRequest(p: Participant, update: UpdateParticipantMetadata): void {
  const verdict = checkMetadataUpdate(update, p.grant.canUpdateOwnMetadata);
  if (verdict.reason === RequestResponse_Reason.OK) {
    const info = p.snapshot();
    const change = metadataChange(info, update);
    if (change) p.updateFromServer(change);
  } else {
    p.logger.info({ requestId: update.requestId, reason: RequestResponse_Reason[verdict.reason] }, `metadata update refused: ${verdict.message}`);
  }
  if (verdict.reason === RequestResponse_Reason.OK && p.protocol <= 14) return;
  p.send(
    new SignalResponse({
      message: {
        case: 'requestResponse',
        value: new RequestResponse({
          requestId: update.requestId,
          reason: verdict.reason,
          message: verdict.message,
          request: { case: 'updateMetadata', value: update },
        }),
      },
    }),
  );
}
