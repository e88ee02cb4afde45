// `atrium dispatch create|list|get|delete`: explicit agent dispatch through livekit.AgentDispatchService (Twirp), as
// LiveKit's `lk dispatch`: create takes --room (or --new-room), --agent-name, --deployment and --metadata; list takes the room, get and
// delete the room and the dispatch ID, as arguments (ROOM [ID]) or as --room / --id.
import { randomBytes } from 'node:crypto';
import { CliError, UsageError } from '../command.js';
import type { Command, OptionsConfig, ParsedArgs } from '../command.js';
import { boolFlag, requireFlag, stringFlag } from '../args.js';
import { callDispatchApi } from '../api-client.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, resolveConnection } from '../connection.js';
import { formatDispatches, formatJson, messageJson } from '../format.js';

const JSON_OPTION = { json: { type: 'boolean' } } as const satisfies OptionsConfig;
const JSON_HELP = ['--json', 'print the result as JSON (protobuf JSON names)'] as const;
const ROOM_ID_OPTIONS = { room: { type: 'string', short: 'r' }, id: { type: 'string' }, ...JSON_OPTION, ...CONNECTION_OPTIONS } as const satisfies OptionsConfig;
const ROOM_ID_HELP: readonly (readonly [string, string])[] = [
  ['-r, --room NAME', 'the room (or the first argument)'],
  ['--id ID', 'the dispatch ID, AD_... (or the second argument)'],
];

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A fresh room name for --new-room: 'room-' and 12 base62 characters (the shape of lk's generated names). */
export function newRoomName(random: (n: number) => Uint8Array = randomBytes): string {
  return `room-${Array.from(random(12), (b) => BASE62[b % 62]).join('')}`;
}

/**
 * Values for `names` (flag names, in argument order): each from its flag, else from the next positional argument.
 * Positionals left over, or a required value missing, are UsageErrors naming the flag.
 */
export function flagsOrPositionals(args: ParsedArgs, names: readonly (readonly [string, string])[]): string[] {
  const rest = [...args.positionals];
  const out = names.map(([name, what]) => {
    const v = stringFlag(args.values, name) ?? rest.shift();
    if (v === undefined || v === '') {
      const usage = names.map(([n]) => n.toUpperCase()).join(' ');
      throw new UsageError(`missing required flag --${name} (${what}; or give ${usage} as arguments)`);
    }
    return v;
  });
  if (rest.length > 0) throw new UsageError(`unexpected argument${rest.length > 1 ? 's' : ''}: ${rest.map((a) => `'${a}'`).join(' ')}`);
  return out;
}

export const dispatchCreate: Command = {
  path: ['dispatch', 'create'],
  summary: 'dispatch an agent (a worker registered with that agent name) to a room',
  synopsis: '--room NAME | --new-room  --agent-name NAME [--deployment D] [--metadata TEXT] [--json]',
  flagHelp: [
    ['-r, --room NAME', 'the room; created if it does not exist (room.auto_create)'],
    ['--new-room', 'dispatch to a new room with a generated name (room-...)'],
    ['--agent-name NAME', 'the agent to dispatch (the agent_name its worker registered with)'],
    ['-d, --deployment D', "only workers registered with this deployment take the job (default '': workers without one)"],
    ['--metadata TEXT', "job metadata for the agent (its ctx.job.metadata)"],
    JSON_HELP,
    ...CONNECTION_HELP,
  ],
  options: {
    room: { type: 'string', short: 'r' },
    'new-room': { type: 'boolean' },
    'agent-name': { type: 'string' },
    deployment: { type: 'string', short: 'd' },
    metadata: { type: 'string' },
    ...JSON_OPTION,
    ...CONNECTION_OPTIONS,
  },
  async run({ values }, io) {
    const given = stringFlag(values, 'room');
    const newRoom = boolFlag(values, 'new-room');
    if (given !== undefined && newRoom) throw new UsageError('give --room or --new-room, not both');
    if ((given === undefined || given === '') && !newRoom) throw new UsageError('missing required flag --room (or --new-room for a generated room name)');
    const room = given ?? newRoomName();
    const agentName = requireFlag(values, 'agent-name', 'the agent to dispatch');
    const metadata = stringFlag(values, 'metadata');
    const deployment = stringFlag(values, 'deployment');
    const conn = resolveConnection(values, io.env);
    const options = { ...(metadata !== undefined ? { metadata } : {}), ...(deployment !== undefined ? { deployment } : {}) };
    const dispatch = await callDispatchApi(conn, (c) => c.createDispatch(room, agentName, options));
    io.stdout(boolFlag(values, 'json') ? formatJson(messageJson(dispatch)) : formatDispatches([dispatch]));
  },
};

export const dispatchList: Command = {
  path: ['dispatch', 'list'],
  summary: "list a room's agent dispatches and their jobs",
  synopsis: 'ROOM [--json]  (or --room ROOM)',
  flagHelp: [['-r, --room NAME', 'the room (or give it as the argument)'], JSON_HELP, ...CONNECTION_HELP],
  options: { room: { type: 'string', short: 'r' }, ...JSON_OPTION, ...CONNECTION_OPTIONS },
  maxPositionals: 1,
  async run(args, io) {
    const [room = ''] = flagsOrPositionals(args, [['room', 'the room whose dispatches to list']]);
    const conn = resolveConnection(args.values, io.env);
    const dispatches = await callDispatchApi(conn, (c) => c.listDispatch(room));
    io.stdout(boolFlag(args.values, 'json') ? formatJson(dispatches.map(messageJson)) : formatDispatches(dispatches));
  },
};

export const dispatchGet: Command = {
  path: ['dispatch', 'get'],
  summary: 'show one agent dispatch and its jobs',
  synopsis: 'ROOM ID [--json]  (or --room ROOM --id ID)',
  flagHelp: [...ROOM_ID_HELP, JSON_HELP, ...CONNECTION_HELP],
  options: ROOM_ID_OPTIONS,
  maxPositionals: 2,
  async run(args, io) {
    const [room = '', id = ''] = flagsOrPositionals(args, [['room', 'the room of the dispatch'], ['id', 'the dispatch ID']]);
    const conn = resolveConnection(args.values, io.env);
    const dispatch = await callDispatchApi(conn, (c) => c.getDispatch(id, room));
    if (dispatch === undefined) throw new CliError(`no dispatch '${id}' in room '${room}'`);
    io.stdout(boolFlag(args.values, 'json') ? formatJson(messageJson(dispatch)) : formatDispatches([dispatch]));
  },
};

export const dispatchDelete: Command = {
  path: ['dispatch', 'delete'],
  summary: "delete an agent dispatch (its running jobs are told to end)",
  synopsis: 'ROOM ID [--json]  (or --room ROOM --id ID)',
  flagHelp: [...ROOM_ID_HELP, JSON_HELP, ...CONNECTION_HELP],
  options: ROOM_ID_OPTIONS,
  maxPositionals: 2,
  async run(args, io) {
    const [room = '', id = ''] = flagsOrPositionals(args, [['room', 'the room of the dispatch'], ['id', 'the dispatch ID']]);
    const conn = resolveConnection(args.values, io.env);
    await callDispatchApi(conn, (c) => c.deleteDispatch(id, room));
    io.stdout(boolFlag(args.values, 'json') ? formatJson({ deleted: id, room }) : `deleted dispatch ${id} in room ${room}\n`);
  },
};

export const DISPATCH_COMMANDS: readonly Command[] = [dispatchCreate, dispatchList, dispatchGet, dispatchDelete];
