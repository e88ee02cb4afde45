// `atrium room list|create|delete|update`: RoomService calls through livekit-server-sdk's RoomServiceClient.
import { UsageError } from '../command.js';
import type { Command, OptionsConfig } from '../command.js';
import { boolFlag, flagOrPositional, listFlag, optionalDurationSec, optionalInteger, stringFlag } from '../args.js';
import { callApi } from '../api-client.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, resolveConnection } from '../connection.js';
import { formatJson, formatRooms, messageJson } from '../format.js';

const JSON_OPTION = { json: { type: 'boolean' } } as const satisfies OptionsConfig;
const JSON_HELP = ['--json', 'print the result as JSON'] as const;

export const roomList: Command = {
  path: ['room', 'list'],
  summary: 'list active rooms',
  synopsis: '[NAME ...] [--room NAME ...] [--json]',
  flagHelp: [['--room NAME', 'only these rooms (repeatable; names may also be given as arguments)'], JSON_HELP, ...CONNECTION_HELP],
  options: { room: { type: 'string', multiple: true }, ...JSON_OPTION, ...CONNECTION_OPTIONS },
  maxPositionals: Number.MAX_SAFE_INTEGER,
  async run(args, io) {
    const conn = resolveConnection(args.values, io.env);
    const names = [...listFlag(args.values, 'room'), ...args.positionals];
    const rooms = await callApi(conn, (c) => c.listRooms(names.length > 0 ? names : undefined));
    io.stdout(boolFlag(args.values, 'json') ? formatJson(rooms.map(messageJson)) : formatRooms(rooms));
  },
};

export const roomCreate: Command = {
  path: ['room', 'create'],
  summary: 'create a room (rooms are also created when the first participant joins)',
  synopsis: '--name NAME [--empty-timeout SEC] [--departure-timeout SEC] [--max-participants N] [--metadata TEXT] [--json]',
  flagHelp: [
    ['--name NAME', 'the room name (or give it as the argument)'],
    ['--empty-timeout SEC', 'close the room this long after it is left empty (seconds or 5m)'],
    ['--departure-timeout SEC', 'keep the room this long after the last participant leaves'],
    ['--max-participants N', 'at most N participants (0: no limit)'],
    ['--metadata TEXT', 'room metadata'],
    JSON_HELP,
    ...CONNECTION_HELP,
  ],
  options: {
    name: { type: 'string' },
    'empty-timeout': { type: 'string' },
    'departure-timeout': { type: 'string' },
    'max-participants': { type: 'string' },
    metadata: { type: 'string' },
    ...JSON_OPTION,
    ...CONNECTION_OPTIONS,
  },
  maxPositionals: 1,
  async run(args, io) {
    const name = flagOrPositional(args, 'name', 'the room to create');
    const emptyTimeout = optionalDurationSec(args.values, 'empty-timeout');
    const departureTimeout = optionalDurationSec(args.values, 'departure-timeout');
    const maxParticipants = optionalInteger(args.values, 'max-participants');
    const metadata = stringFlag(args.values, 'metadata');
    const conn = resolveConnection(args.values, io.env);
    const room = await callApi(conn, (c) =>
      c.createRoom({
        name,
        ...(emptyTimeout !== undefined ? { emptyTimeout } : {}),
        ...(departureTimeout !== undefined ? { departureTimeout } : {}),
        ...(maxParticipants !== undefined ? { maxParticipants } : {}),
        ...(metadata !== undefined ? { metadata } : {}),
      }),
    );
    io.stdout(boolFlag(args.values, 'json') ? formatJson(messageJson(room)) : formatRooms([room]));
  },
};

export const roomDelete: Command = {
  path: ['room', 'delete'],
  summary: 'close a room, disconnecting everyone in it',
  synopsis: '--room NAME [--json]',
  flagHelp: [['--room NAME', 'the room (or give it as the argument)'], JSON_HELP, ...CONNECTION_HELP],
  options: { room: { type: 'string' }, ...JSON_OPTION, ...CONNECTION_OPTIONS },
  maxPositionals: 1,
  async run(args, io) {
    const room = flagOrPositional(args, 'room', 'the room to delete');
    const conn = resolveConnection(args.values, io.env);
    await callApi(conn, (c) => c.deleteRoom(room));
    io.stdout(boolFlag(args.values, 'json') ? formatJson({ deleted: room }) : `deleted room ${room}\n`);
  },
};

export const roomUpdate: Command = {
  path: ['room', 'update'],
  summary: "set a room's metadata",
  synopsis: '--room NAME --metadata TEXT [--json]',
  flagHelp: [['--room NAME', 'the room (or give it as the argument)'], ['--metadata TEXT', 'the new metadata'], JSON_HELP, ...CONNECTION_HELP],
  options: { room: { type: 'string' }, metadata: { type: 'string' }, ...JSON_OPTION, ...CONNECTION_OPTIONS },
  maxPositionals: 1,
  async run(args, io) {
    const room = flagOrPositional(args, 'room', 'the room to update');
    const metadata = stringFlag(args.values, 'metadata');
    if (metadata === undefined) throw new UsageError("missing required flag --metadata (the new metadata; '' clears it)");
    const conn = resolveConnection(args.values, io.env);
    const updated = await callApi(conn, (c) => c.updateRoomMetadata(room, metadata));
    io.stdout(boolFlag(args.values, 'json') ? formatJson(messageJson(updated)) : formatRooms([updated]));
  },
};

export const ROOM_COMMANDS: readonly Command[] = [roomList, roomCreate, roomDelete, roomUpdate];
