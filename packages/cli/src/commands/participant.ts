// `atrium participant list|get|remove|mute`: RoomService participant calls through RoomServiceClient.
import type { Command, OptionsConfig } from '../command.js';
import { boolFlag, flagOrPositional, requireFlag } from '../args.js';
import { callApi } from '../api-client.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, resolveConnection } from '../connection.js';
import { formatJson, formatParticipant, formatParticipants, formatTrackSummary, messageJson } from '../format.js';

const COMMON_OPTIONS = { room: { type: 'string', short: 'r' }, json: { type: 'boolean' }, ...CONNECTION_OPTIONS } as const satisfies OptionsConfig;
const ROOM_HELP = ['-r, --room NAME', 'the room'] as const;
const IDENTITY_HELP = ['-i, --identity ID', 'the participant (or give it as the argument)'] as const;
const JSON_HELP = ['--json', 'print the result as JSON'] as const;
const IDENTITY_OPTION = { identity: { type: 'string', short: 'i' } } as const satisfies OptionsConfig;

export const participantList: Command = {
  path: ['participant', 'list'],
  summary: 'list the participants of a room',
  synopsis: '--room NAME [--json]',
  flagHelp: [['-r, --room NAME', 'the room (or give it as the argument)'], JSON_HELP, ...CONNECTION_HELP],
  options: COMMON_OPTIONS,
  maxPositionals: 1,
  async run(args, io) {
    const room = flagOrPositional(args, 'room', 'the room whose participants to list');
    const conn = resolveConnection(args.values, io.env);
    const participants = await callApi(conn, (c) => c.listParticipants(room));
    io.stdout(boolFlag(args.values, 'json') ? formatJson(participants.map(messageJson)) : formatParticipants(participants));
  },
};

export const participantGet: Command = {
  path: ['participant', 'get'],
  summary: 'show one participant and its tracks',
  synopsis: '--room NAME --identity ID [--json]',
  flagHelp: [ROOM_HELP, IDENTITY_HELP, JSON_HELP, ...CONNECTION_HELP],
  options: { ...COMMON_OPTIONS, ...IDENTITY_OPTION },
  maxPositionals: 1,
  async run(args, io) {
    const room = requireFlag(args.values, 'room', 'the room');
    const identity = flagOrPositional(args, 'identity', 'the participant');
    const conn = resolveConnection(args.values, io.env);
    const p = await callApi(conn, (c) => c.getParticipant(room, identity));
    io.stdout(boolFlag(args.values, 'json') ? formatJson(messageJson(p)) : formatParticipant(p));
  },
};

export const participantRemove: Command = {
  path: ['participant', 'remove'],
  summary: 'disconnect a participant from a room (it may join again)',
  synopsis: '--room NAME --identity ID [--json]',
  flagHelp: [ROOM_HELP, IDENTITY_HELP, JSON_HELP, ...CONNECTION_HELP],
  options: { ...COMMON_OPTIONS, ...IDENTITY_OPTION },
  maxPositionals: 1,
  async run(args, io) {
    const room = requireFlag(args.values, 'room', 'the room');
    const identity = flagOrPositional(args, 'identity', 'the participant to remove');
    const conn = resolveConnection(args.values, io.env);
    await callApi(conn, (c) => c.removeParticipant(room, identity));
    io.stdout(boolFlag(args.values, 'json') ? formatJson({ removed: identity, room }) : `removed ${identity} from room ${room}\n`);
  },
};

export const participantMute: Command = {
  path: ['participant', 'mute'],
  summary: "mute (or with --unmute, unmute) a participant's published track",
  synopsis: '--room NAME --identity ID --track TRACK_SID [--unmute] [--json]',
  flagHelp: [
    ROOM_HELP,
    ['-i, --identity ID', 'the publishing participant'],
    ['-t, --track TRACK_SID', 'the published track (TR_...; see participant get)'],
    ['--unmute', 'unmute instead (Atrium, like LiveKit by default, refuses remote unmute: failed_precondition)'],
    JSON_HELP,
    ...CONNECTION_HELP,
  ],
  options: { ...COMMON_OPTIONS, ...IDENTITY_OPTION, track: { type: 'string', short: 't' }, unmute: { type: 'boolean' } },
  async run(args, io) {
    const room = requireFlag(args.values, 'room', 'the room');
    const identity = requireFlag(args.values, 'identity', 'the publishing participant');
    const track = requireFlag(args.values, 'track', 'the track SID');
    const muted = !boolFlag(args.values, 'unmute');
    const conn = resolveConnection(args.values, io.env);
    const info = await callApi(conn, (c) => c.mutePublishedTrack(room, identity, track, muted));
    io.stdout(boolFlag(args.values, 'json') ? formatJson(messageJson(info)) : `${muted ? 'muted' : 'unmuted'} ${formatTrackSummary(info)}\n`);
  },
};

export const PARTICIPANT_COMMANDS: readonly Command[] = [participantList, participantGet, participantRemove, participantMute];
