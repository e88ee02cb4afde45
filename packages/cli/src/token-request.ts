// Pure: what `atrium token create` flags ask for (identity, lifetime, video grant), validated before any signing.
// Flag names follow LiveKit's `lk token create` (--join --admin --list --create --record --valid-for --grant, and
// --agent NAME / --job-metadata for an agent dispatched by the token's roomConfig).
import { TrackSource } from '@livekit/protocol';
import { RoomAgentDispatch, RoomConfiguration } from 'livekit-server-sdk';
import type { VideoGrant } from 'livekit-server-sdk';
import { UsageError } from './command.js';
import type { FlagValues, OptionsConfig } from './command.js';
import { boolFlag, listFlag, parseDurationSec, parseKeyValues, stringFlag } from './args.js';

export const DEFAULT_TOKEN_TTL_SEC = 6 * 3600;

export const TOKEN_OPTIONS = {
  room: { type: 'string', short: 'r' },
  identity: { type: 'string', short: 'i' },
  name: { type: 'string', short: 'n' },
  metadata: { type: 'string' },
  attribute: { type: 'string', multiple: true },
  ttl: { type: 'string' },
  'valid-for': { type: 'string' },
  join: { type: 'boolean' },
  admin: { type: 'boolean' },
  list: { type: 'boolean' },
  create: { type: 'boolean' },
  record: { type: 'boolean' },
  'can-publish': { type: 'boolean' },
  'no-publish': { type: 'boolean' },
  'can-subscribe': { type: 'boolean' },
  'no-subscribe': { type: 'boolean' },
  'can-publish-data': { type: 'boolean' },
  'no-publish-data': { type: 'boolean' },
  'can-update-metadata': { type: 'boolean' },
  'allow-source': { type: 'string', multiple: true },
  hidden: { type: 'boolean' },
  recorder: { type: 'boolean' },
  agent: { type: 'string' },
  'job-metadata': { type: 'string' },
  deployment: { type: 'string', short: 'd' },
  grant: { type: 'string' },
} as const satisfies OptionsConfig;

export const TOKEN_FLAG_HELP: readonly (readonly [string, string])[] = [
  ['-r, --room NAME', 'room to join or administer'],
  ['-i, --identity ID', 'participant identity (required with --join)'],
  ['-n, --name NAME', 'participant display name'],
  ['--metadata TEXT', 'participant metadata'],
  ['--attribute KEY=VALUE', 'participant attribute (repeatable)'],
  ['--ttl, --valid-for DURATION', `token lifetime: 90, 90s, 30m, 1h, 2h30m, 1d (default ${DEFAULT_TOKEN_TTL_SEC / 3600}h)`],
  ['--join', 'may join --room (the default when no other grant is given)'],
  ['--admin', 'may administer --room (RoomService calls on it)'],
  ['--list', 'may list rooms'],
  ['--create', 'may create and delete rooms'],
  ['--record', 'may use egress (recording)'],
  ['--can-publish / --no-publish', 'may publish tracks (default with --join: yes)'],
  ['--can-subscribe / --no-subscribe', 'may subscribe to tracks (default with --join: yes)'],
  ['--can-publish-data / --no-publish-data', 'may send data messages (default with --join: yes)'],
  ['--can-update-metadata', 'may update its own name, metadata and attributes'],
  ['--allow-source SOURCE', 'only these sources may be published: camera, microphone, screen_share, screen_share_audio (repeatable or comma-separated)'],
  ['--hidden', 'invisible to other participants'],
  ['--recorder', 'marks the participant as a recorder'],
  ['--agent NAME', "dispatch agent NAME to the room when this token's join creates it (roomConfig.agents; join tokens only)"],
  ['--job-metadata TEXT', 'metadata for the job of the --agent dispatch (the agent reads it as ctx.job.metadata)'],
  ['-d, --deployment D', 'the deployment of the --agent dispatch (workers registered with it take the job)'],
  ['--grant JSON', 'a video grant as JSON, merged under the flags, e.g. \'{"roomJoin":true,"room":"r"}\'; an agent worker token: \'{"agent":true}\''],
];

export interface TokenRequest {
  identity?: string;
  name?: string;
  metadata?: string;
  attributes?: Record<string, string>;
  ttlSec: number;
  grant: VideoGrant;
  /** The token's `roomConfig` claim: the room settings and agent dispatches a join that creates the room applies. */
  roomConfig?: RoomConfiguration;
}

const SOURCES: Readonly<Record<string, TrackSource>> = {
  camera: TrackSource.CAMERA,
  microphone: TrackSource.MICROPHONE,
  screen_share: TrackSource.SCREEN_SHARE,
  screen_share_audio: TrackSource.SCREEN_SHARE_AUDIO,
};

/** true / false / undefined from a --can-x / --no-x pair; both is a UsageError. */
function tristate(values: FlagValues, yes: string, no: string): boolean | undefined {
  const y = boolFlag(values, yes);
  const n = boolFlag(values, no);
  if (y && n) throw new UsageError(`--${yes} and --${no} contradict each other`);
  return y ? true : n ? false : undefined;
}

function parseGrantJson(text: string): VideoGrant {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--grant: not JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError('--grant: must be a JSON object');
  return parsed as VideoGrant;
}

function parseSources(values: FlagValues): TrackSource[] | undefined {
  const names = listFlag(values, 'allow-source').flatMap((v) => v.split(',')).map((v) => v.trim().toLowerCase()).filter((v) => v !== '');
  if (names.length === 0) return undefined;
  return names.map((name) => {
    const source = Object.hasOwn(SOURCES, name) ? SOURCES[name] : undefined;
    if (source === undefined) throw new UsageError(`--allow-source: '${name}' is not one of ${Object.keys(SOURCES).join(', ')}`);
    return source;
  });
}

/** Validates the flags and builds the token's contents. */
export function buildTokenRequest(values: FlagValues): TokenRequest {
  const ttlText = stringFlag(values, 'ttl');
  const validFor = stringFlag(values, 'valid-for');
  if (ttlText !== undefined && validFor !== undefined) throw new UsageError('give --ttl or --valid-for, not both');
  const ttlSec = ttlText !== undefined ? parseDurationSec(ttlText, 'ttl') : validFor !== undefined ? parseDurationSec(validFor, 'valid-for') : DEFAULT_TOKEN_TTL_SEC;

  const room = stringFlag(values, 'room');
  const identity = stringFlag(values, 'identity');
  const base = stringFlag(values, 'grant') !== undefined ? parseGrantJson(stringFlag(values, 'grant') ?? '') : {};
  const explicit = ['join', 'admin', 'list', 'create', 'record'].some((f) => boolFlag(values, f));
  const join = boolFlag(values, 'join') || (!explicit && stringFlag(values, 'grant') === undefined);

  const grant: VideoGrant = { ...base };
  if (room !== undefined) grant.room = room;
  if (join) grant.roomJoin = true;
  if (boolFlag(values, 'admin')) grant.roomAdmin = true;
  if (boolFlag(values, 'list')) grant.roomList = true;
  if (boolFlag(values, 'create')) grant.roomCreate = true;
  if (boolFlag(values, 'record')) grant.roomRecord = true;
  const canPublish = tristate(values, 'can-publish', 'no-publish');
  const canSubscribe = tristate(values, 'can-subscribe', 'no-subscribe');
  const canPublishData = tristate(values, 'can-publish-data', 'no-publish-data');
  if (join || canPublish !== undefined) grant.canPublish = canPublish ?? base.canPublish ?? true;
  if (join || canSubscribe !== undefined) grant.canSubscribe = canSubscribe ?? base.canSubscribe ?? true;
  if (join || canPublishData !== undefined) grant.canPublishData = canPublishData ?? base.canPublishData ?? true;
  if (boolFlag(values, 'can-update-metadata')) grant.canUpdateOwnMetadata = true;
  const sources = parseSources(values);
  if (sources !== undefined) grant.canPublishSources = sources;
  if (boolFlag(values, 'hidden')) grant.hidden = true;
  if (boolFlag(values, 'recorder')) grant.recorder = true;

  if (grant.roomJoin === true) {
    if (grant.room === undefined || grant.room === '') throw new UsageError('missing required flag --room (the room to join)');
    if (identity === undefined || identity === '') throw new UsageError('missing required flag --identity (a join token needs one)');
  }
  if (grant.roomAdmin === true && (grant.room === undefined || grant.room === '')) {
    throw new UsageError('missing required flag --room (the room --admin applies to)');
  }

  const agentName = stringFlag(values, 'agent');
  const jobMetadata = stringFlag(values, 'job-metadata');
  const deployment = stringFlag(values, 'deployment');
  if (agentName === '') throw new UsageError('--agent: give the agent name to dispatch');
  if (jobMetadata !== undefined && agentName === undefined) throw new UsageError('--job-metadata needs --agent NAME (the agent whose job gets it)');
  if (deployment !== undefined && agentName === undefined) throw new UsageError('--deployment needs --agent NAME (the agent dispatched to it)');
  if (agentName !== undefined && grant.roomJoin !== true) {
    throw new UsageError('--agent needs a join token (--join): the agent is dispatched when the join creates the room');
  }

  const attributePairs = listFlag(values, 'attribute');
  const request: TokenRequest = { ttlSec, grant };
  if (agentName !== undefined) {
    request.roomConfig = new RoomConfiguration({ agents: [new RoomAgentDispatch({ agentName, metadata: jobMetadata ?? '', deployment: deployment ?? '' })] });
  }
  if (identity !== undefined) request.identity = identity;
  const name = stringFlag(values, 'name');
  if (name !== undefined) request.name = name;
  const metadata = stringFlag(values, 'metadata');
  if (metadata !== undefined) request.metadata = metadata;
  if (attributePairs.length > 0) request.attributes = parseKeyValues(attributePairs, 'attribute');
  return request;
}
