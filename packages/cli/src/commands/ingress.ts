// `atrium ingress create|update|list|delete`: livekit.Ingress over Twirp. As lk, create and update take a request JSON
// file (`--request`); flags (--input, --room, --identity, ...) set the common fields without one, or override the
// file's. The answer prints the URL and stream key a user pastes into OBS (or the WHIP URL).
import { CreateIngressRequest, DeleteIngressRequest, IngressInfo, IngressInput, ListIngressRequest, ListIngressResponse, UpdateIngressRequest } from '@livekit/protocol';
import { UsageError } from '../command.js';
import type { Command, FlagValues, OptionsConfig } from '../command.js';
import { boolFlag, flagOrPositional, stringFlag } from '../args.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, resolveConnection } from '../connection.js';
import type { Connection } from '../connection.js';
import { formatIngresses, formatIngressInfo, formatJson, messageJson } from '../format.js';
import { readRequestFile } from '../request-file.js';
import { twirpCall } from '../twirp-call.js';
import type { MessageType, RequestMessage } from '../twirp-call.js';

const JSON_OPTION = { json: { type: 'boolean' } } as const satisfies OptionsConfig;
const JSON_HELP = ['--json', 'print the result as JSON (protobuf JSON names)'] as const;

function ingressCall<T>(conn: Connection, method: string, request: RequestMessage, answer: MessageType<T>): Promise<T> {
  return twirpCall(conn, { service: 'livekit.Ingress', method, grant: { ingressAdmin: true } }, request, answer);
}

const INPUTS: Readonly<Record<string, IngressInput>> = { rtmp: IngressInput.RTMP_INPUT, whip: IngressInput.WHIP_INPUT, url: IngressInput.URL_INPUT };

/** The participant fields both create and update take as flags. */
const FIELD_OPTIONS = {
  request: { type: 'string' },
  name: { type: 'string' },
  room: { type: 'string' },
  identity: { type: 'string' },
  'participant-name': { type: 'string' },
  metadata: { type: 'string' },
} as const satisfies OptionsConfig;
const FIELD_HELP: readonly (readonly [string, string])[] = [
  ['--request FILE', "a request in LiveKit's JSON ('-': standard input); the flags below override its fields"],
  ['--name NAME', 'the ingress name'],
  ['--room NAME', 'the room it publishes into'],
  ['--identity ID', 'the identity of its INGRESS participant'],
  ['--participant-name NAME', "the participant's display name"],
  ['--metadata TEXT', "the participant's metadata"],
];

interface ParticipantFields {
  name: string;
  roomName: string;
  participantIdentity: string;
  participantName: string;
  participantMetadata: string;
}

/** Sets the fields given as flags on `req`. */
export function applyFieldFlags(req: ParticipantFields, values: FlagValues): void {
  const set = (flag: string, field: keyof ParticipantFields): void => {
    const v = stringFlag(values, flag);
    if (v !== undefined) req[field] = v;
  };
  set('name', 'name');
  set('room', 'roomName');
  set('identity', 'participantIdentity');
  set('participant-name', 'participantName');
  set('metadata', 'participantMetadata');
}

/** The CreateIngressRequest a command line describes: the file's (if any), then the flags. */
export function buildCreateRequest(values: FlagValues): CreateIngressRequest {
  const file = stringFlag(values, 'request');
  const req = file !== undefined ? readRequestFile(file, CreateIngressRequest) : new CreateIngressRequest();
  const input = stringFlag(values, 'input');
  if (input !== undefined) {
    const type = INPUTS[input.toLowerCase()];
    if (type === undefined) throw new UsageError(`unknown --input '${input}' (rtmp, whip or url)`);
    req.inputType = type;
  }
  applyFieldFlags(req, values);
  const url = stringFlag(values, 'source-url');
  if (url !== undefined) req.url = url;
  if (boolFlag(values, 'enable-transcoding')) req.enableTranscoding = true;
  if (file === undefined && req.roomName === '') throw new UsageError('missing required flag --room (the room the ingress publishes into)');
  if (file === undefined && req.participantIdentity === '') throw new UsageError('missing required flag --identity (of the INGRESS participant)');
  if (req.inputType === IngressInput.URL_INPUT && req.url === '') throw new UsageError('a URL input needs --source-url (a media file path or an http(s) URL)');
  return req;
}

export const ingressCreate: Command = {
  path: ['ingress', 'create'],
  summary: 'create an ingress: an RTMP or WHIP endpoint, or a URL pulled into a room',
  synopsis: '--request FILE | --input rtmp|whip|url --room NAME --identity ID [--name NAME] [--source-url URL] [--json]',
  flagHelp: [
    ['--input TYPE', 'rtmp (default), whip or url'],
    ...FIELD_HELP,
    ['--source-url URL', 'for --input url: the media file or http(s)/HLS URL to pull'],
    ['--enable-transcoding', 'transcode a WHIP input instead of forwarding it as is'],
    JSON_HELP,
    ...CONNECTION_HELP,
  ],
  options: { input: { type: 'string' }, 'source-url': { type: 'string' }, 'enable-transcoding': { type: 'boolean' }, ...FIELD_OPTIONS, ...JSON_OPTION, ...CONNECTION_OPTIONS },
  async run(args, io) {
    const req = buildCreateRequest(args.values);
    const conn = resolveConnection(args.values, io.env);
    const info = await ingressCall(conn, 'CreateIngress', req, IngressInfo);
    io.stdout(boolFlag(args.values, 'json') ? formatJson(messageJson(info)) : formatIngressInfo(info));
  },
};

export const ingressUpdate: Command = {
  path: ['ingress', 'update'],
  summary: "change an ingress's name, room or participant (it applies from the next session)",
  synopsis: '--id ID [--request FILE] [--name NAME] [--room NAME] [--identity ID] [--participant-name NAME] [--metadata TEXT] [--json]',
  flagHelp: [['--id ID', 'the ingress, IN_... (or give it as the argument; overrides the file)'], ...FIELD_HELP, JSON_HELP, ...CONNECTION_HELP],
  options: { id: { type: 'string' }, ...FIELD_OPTIONS, ...JSON_OPTION, ...CONNECTION_OPTIONS },
  maxPositionals: 1,
  async run(args, io) {
    const file = stringFlag(args.values, 'request');
    const req = file !== undefined ? readRequestFile(file, UpdateIngressRequest) : new UpdateIngressRequest();
    if (stringFlag(args.values, 'id') !== undefined || args.positionals.length > 0 || req.ingressId === '') {
      req.ingressId = flagOrPositional(args, 'id', 'the ingress to update');
    }
    applyFieldFlags(req, args.values);
    const conn = resolveConnection(args.values, io.env);
    const info = await ingressCall(conn, 'UpdateIngress', req, IngressInfo);
    io.stdout(boolFlag(args.values, 'json') ? formatJson(messageJson(info)) : formatIngressInfo(info));
  },
};

export const ingressList: Command = {
  path: ['ingress', 'list'],
  summary: 'list ingresses and their state',
  synopsis: '[--room NAME] [--id ID] [--json]',
  flagHelp: [['--room NAME', 'only ingresses into this room'], ['--id ID', 'only this ingress'], JSON_HELP, ...CONNECTION_HELP],
  options: { room: { type: 'string' }, id: { type: 'string' }, ...JSON_OPTION, ...CONNECTION_OPTIONS },
  async run(args, io) {
    const conn = resolveConnection(args.values, io.env);
    const req = new ListIngressRequest({ roomName: stringFlag(args.values, 'room') ?? '', ingressId: stringFlag(args.values, 'id') ?? '' });
    const res = await ingressCall(conn, 'ListIngress', req, ListIngressResponse);
    io.stdout(boolFlag(args.values, 'json') ? formatJson(res.items.map(messageJson)) : formatIngresses(res.items));
  },
};

export const ingressDelete: Command = {
  path: ['ingress', 'delete'],
  summary: 'delete an ingress (a live one stops publishing)',
  synopsis: '--id ID [--json]',
  flagHelp: [['--id ID', 'the ingress, IN_... (or give it as the argument)'], JSON_HELP, ...CONNECTION_HELP],
  options: { id: { type: 'string' }, ...JSON_OPTION, ...CONNECTION_OPTIONS },
  maxPositionals: 1,
  async run(args, io) {
    const ingressId = flagOrPositional(args, 'id', 'the ingress to delete');
    const conn = resolveConnection(args.values, io.env);
    const info = await ingressCall(conn, 'DeleteIngress', new DeleteIngressRequest({ ingressId }), IngressInfo);
    io.stdout(boolFlag(args.values, 'json') ? formatJson(messageJson(info)) : formatIngressInfo(info));
  },
};

export const INGRESS_COMMANDS: readonly Command[] = [ingressCreate, ingressUpdate, ingressList, ingressDelete];
