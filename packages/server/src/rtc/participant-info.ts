// The ParticipantInfo a participant starts with: identity, name, metadata and attributes from its token,
// its permission, kind and client capabilities, state JOINING at version 0.
import { ParticipantInfo, ParticipantInfo_State, ParticipantInfo_Kind, ClientInfo_Capability } from '@livekit/protocol';
import { toParticipantPermission } from '@atrium/protocol';
import type { ResolvedVideoGrant, ClaimGrants } from '@atrium/protocol';

/** The token's `kind` claim -> ParticipantInfo.Kind (unknown names are STANDARD). */
const KIND_BY_NAME: Record<string, ParticipantInfo_Kind> = {
  standard: ParticipantInfo_Kind.STANDARD,
  ingress: ParticipantInfo_Kind.INGRESS,
  egress: ParticipantInfo_Kind.EGRESS,
  sip: ParticipantInfo_Kind.SIP,
  agent: ParticipantInfo_Kind.AGENT,
  connector: 7 as ParticipantInfo_Kind,
  bridge: 8 as ParticipantInfo_Kind,
};

export function initialParticipantInfo(opts: {
  sid: string;
  claims: ClaimGrants;
  grant: ResolvedVideoGrant;
  clientProtocol: number;
  /** ClientInfo.Capability names; unknown names are ignored. */
  capabilities: readonly string[];
  nowMs: number;
}): ParticipantInfo {
  const capabilityByName = ClientInfo_Capability as unknown as Record<string, number | undefined>;
  return new ParticipantInfo({
    sid: opts.sid,
    identity: opts.claims.identity,
    name: opts.claims.name ?? '',
    metadata: opts.claims.metadata ?? '',
    attributes: { ...(opts.claims.attributes ?? {}) },
    state: ParticipantInfo_State.JOINING,
    joinedAt: BigInt(Math.floor(opts.nowMs / 1000)),
    joinedAtMs: BigInt(Math.floor(opts.nowMs)),
    version: 0,
    permission: toParticipantPermission(opts.grant),
    kind: KIND_BY_NAME[opts.claims.kind ?? 'standard'] ?? ParticipantInfo_Kind.STANDARD,
    clientProtocol: opts.clientProtocol,
    capabilities: opts.capabilities
      .map((name) => capabilityByName[name])
      .filter((n): n is ClientInfo_Capability => typeof n === 'number' && n > 0),
  });
}
