// `atrium egress start|list|stop|update-layout|update-stream`: livekit.Egress over Twirp, with lk's shapes: `start`
// takes a request JSON file and `--type` (room-composite, participant, track, track-composite, web; none: the
// StartEgressRequest), `list` filters by --id / --room / --active, `stop` takes one or more --id.
import { EgressInfo, ListEgressRequest, ListEgressResponse, ParticipantEgressRequest, RoomCompositeEgressRequest, StartEgressRequest, StopEgressRequest, TrackCompositeEgressRequest, TrackEgressRequest, UpdateLayoutRequest, UpdateStreamRequest, WebEgressRequest } from '@livekit/protocol';
import { UsageError } from '../command.js';
import type { Command, OptionsConfig } from '../command.js';
import { boolFlag, flagOrPositional, listFlag, requireFlag, stringFlag } from '../args.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, resolveConnection } from '../connection.js';
import type { Connection } from '../connection.js';
import { formatEgressInfo, formatEgresses, formatJson, messageJson } from '../format.js';
import { readRequestFile } from '../request-file.js';
import type { JsonReadable } from '../request-file.js';
import { twirpCall } from '../twirp-call.js';
import type { RequestMessage } from '../twirp-call.js';

const JSON_OPTION = { json: { type: 'boolean' } } as const satisfies OptionsConfig;
const JSON_HELP = ['--json', 'print the result as JSON (protobuf JSON names)'] as const;

function egressCall(conn: Connection, method: string, request: RequestMessage): Promise<EgressInfo> {
  return twirpCall(conn, { service: 'livekit.Egress', method, grant: { roomRecord: true } }, request, EgressInfo);
}

/** --type values (lk's) and the request each reads and the method it calls. */
export const EGRESS_START_TYPES: Readonly<Record<string, { type: JsonReadable<RequestMessage>; method: string }>> = {
  'room-composite': { type: RoomCompositeEgressRequest, method: 'StartRoomCompositeEgress' },
  participant: { type: ParticipantEgressRequest, method: 'StartParticipantEgress' },
  track: { type: TrackEgressRequest, method: 'StartTrackEgress' },
  'track-composite': { type: TrackCompositeEgressRequest, method: 'StartTrackCompositeEgress' },
  web: { type: WebEgressRequest, method: 'StartWebEgress' },
  '': { type: StartEgressRequest, method: 'StartEgress' },
};

export const egressStart: Command = {
  path: ['egress', 'start'],
  summary: 'start an egress from a request JSON file (see docs/egress.md for examples)',
  synopsis: '[--type TYPE] REQUEST_JSON [--json]',
  flagHelp: [
    ['--type TYPE', 'room-composite, participant, track, track-composite or web: the request file is that request (none: a StartEgressRequest)'],
    ['REQUEST_JSON', "the request in LiveKit's JSON (proto or JSON field names); '-' reads standard input"],
    JSON_HELP,
    ...CONNECTION_HELP,
  ],
  options: { type: { type: 'string' }, request: { type: 'string' }, ...JSON_OPTION, ...CONNECTION_OPTIONS },
  maxPositionals: 1,
  async run(args, io) {
    const kind = stringFlag(args.values, 'type') ?? '';
    const entry = EGRESS_START_TYPES[kind];
    if (entry === undefined) {
      throw new UsageError(`unknown --type '${kind}' (room-composite, participant, track, track-composite or web)`);
    }
    const path = flagOrPositional(args, 'request', 'the request JSON file');
    const request = readRequestFile(path, entry.type);
    const conn = resolveConnection(args.values, io.env);
    const info = await egressCall(conn, entry.method, request);
    io.stdout(boolFlag(args.values, 'json') ? formatJson(messageJson(info)) : formatEgressInfo(info));
  },
};

export const egressList: Command = {
  path: ['egress', 'list'],
  summary: 'list egresses (live and recently ended)',
  synopsis: '[--id ID ...] [--room NAME] [-a, --active] [--json]',
  flagHelp: [
    ['--id ID', 'only this egress (repeatable)'],
    ['--room NAME', 'only egresses of this room'],
    ['-a, --active', 'only egresses that have not ended'],
    JSON_HELP,
    ...CONNECTION_HELP,
  ],
  options: { id: { type: 'string', multiple: true }, room: { type: 'string' }, active: { type: 'boolean', short: 'a' }, ...JSON_OPTION, ...CONNECTION_OPTIONS },
  async run(args, io) {
    const conn = resolveConnection(args.values, io.env);
    const roomName = stringFlag(args.values, 'room') ?? '';
    const active = boolFlag(args.values, 'active');
    const ids = listFlag(args.values, 'id');
    const requests = ids.length > 0 ? ids.map((egressId) => new ListEgressRequest({ egressId, roomName, active })) : [new ListEgressRequest({ roomName, active })];
    const items: EgressInfo[] = [];
    for (const req of requests) {
      const res = await twirpCall(conn, { service: 'livekit.Egress', method: 'ListEgress', grant: { roomRecord: true } }, req, ListEgressResponse);
      items.push(...res.items);
    }
    io.stdout(boolFlag(args.values, 'json') ? formatJson(items.map(messageJson)) : formatEgresses(items));
  },
};

export const egressStop: Command = {
  path: ['egress', 'stop'],
  summary: 'stop live egresses (their outputs are finalized)',
  synopsis: '--id ID [--id ID ...] [--json]',
  flagHelp: [['--id ID', 'the egress to stop, EG_... (repeatable; or give IDs as arguments)'], JSON_HELP, ...CONNECTION_HELP],
  options: { id: { type: 'string', multiple: true }, ...JSON_OPTION, ...CONNECTION_OPTIONS },
  maxPositionals: Number.MAX_SAFE_INTEGER,
  async run(args, io) {
    const ids = [...listFlag(args.values, 'id'), ...args.positionals];
    if (ids.length === 0) throw new UsageError('missing required flag --id (the egress to stop)');
    const conn = resolveConnection(args.values, io.env);
    const stopped: EgressInfo[] = [];
    for (const egressId of ids) stopped.push(await egressCall(conn, 'StopEgress', new StopEgressRequest({ egressId })));
    io.stdout(boolFlag(args.values, 'json') ? formatJson(stopped.map(messageJson)) : stopped.map(formatEgressInfo).join(''));
  },
};

export const egressUpdateLayout: Command = {
  path: ['egress', 'update-layout'],
  summary: 'change the layout of a live room composite egress',
  synopsis: '--id ID --layout NAME [--json]',
  flagHelp: [['--id ID', 'the egress (or give it as the argument)'], ['--layout NAME', 'grid, speaker or single-speaker'], JSON_HELP, ...CONNECTION_HELP],
  options: { id: { type: 'string' }, layout: { type: 'string' }, ...JSON_OPTION, ...CONNECTION_OPTIONS },
  maxPositionals: 1,
  async run(args, io) {
    const egressId = flagOrPositional(args, 'id', 'the egress');
    const layout = requireFlag(args.values, 'layout', 'the new layout');
    const conn = resolveConnection(args.values, io.env);
    const info = await egressCall(conn, 'UpdateLayout', new UpdateLayoutRequest({ egressId, layout }));
    io.stdout(boolFlag(args.values, 'json') ? formatJson(messageJson(info)) : formatEgressInfo(info));
  },
};

export const egressUpdateStream: Command = {
  path: ['egress', 'update-stream'],
  summary: 'add or remove RTMP URLs of a live stream egress',
  synopsis: '--id ID [--add-urls URL ...] [--remove-urls URL ...] [--json]',
  flagHelp: [
    ['--id ID', 'the egress (or give it as the argument)'],
    ['--add-urls URL', 'start streaming to this URL too (repeatable)'],
    ['--remove-urls URL', 'stop streaming to this URL (repeatable)'],
    JSON_HELP,
    ...CONNECTION_HELP,
  ],
  options: { id: { type: 'string' }, 'add-urls': { type: 'string', multiple: true }, 'remove-urls': { type: 'string', multiple: true }, ...JSON_OPTION, ...CONNECTION_OPTIONS },
  maxPositionals: 1,
  async run(args, io) {
    const egressId = flagOrPositional(args, 'id', 'the egress');
    const addOutputUrls = listFlag(args.values, 'add-urls');
    const removeOutputUrls = listFlag(args.values, 'remove-urls');
    if (addOutputUrls.length === 0 && removeOutputUrls.length === 0) throw new UsageError('give --add-urls or --remove-urls');
    const conn = resolveConnection(args.values, io.env);
    const info = await egressCall(conn, 'UpdateStream', new UpdateStreamRequest({ egressId, addOutputUrls, removeOutputUrls }));
    io.stdout(boolFlag(args.values, 'json') ? formatJson(messageJson(info)) : formatEgressInfo(info));
  },
};

export const EGRESS_COMMANDS: readonly Command[] = [egressStart, egressList, egressStop, egressUpdateLayout, egressUpdateStream];
