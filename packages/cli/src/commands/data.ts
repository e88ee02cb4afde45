// `atrium data send`: RoomService SendData through RoomServiceClient (to everyone or to named identities).
import { DataPacket_Kind } from 'livekit-server-sdk';
import type { Command } from '../command.js';
import { boolFlag, listFlag, requireFlag, stringFlag } from '../args.js';
import { callApi } from '../api-client.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, resolveConnection } from '../connection.js';
import { formatJson } from '../format.js';

export const dataSend: Command = {
  path: ['data', 'send'],
  summary: 'send a data message to the participants of a room',
  synopsis: '--room NAME --data TEXT [--topic TOPIC] [--identity ID ...] [--lossy] [--json]',
  flagHelp: [
    ['-r, --room NAME', 'the room'],
    ['-d, --data TEXT', 'the payload (sent as UTF-8)'],
    ['--topic TOPIC', 'the topic receivers see'],
    ['-i, --identity ID', 'deliver only to this participant (repeatable; default: everyone)'],
    ['--lossy', 'send unreliably (default: reliable)'],
    ['--json', 'print what was sent as JSON'],
    ...CONNECTION_HELP,
  ],
  options: {
    room: { type: 'string', short: 'r' },
    data: { type: 'string', short: 'd' },
    topic: { type: 'string' },
    identity: { type: 'string', short: 'i', multiple: true },
    lossy: { type: 'boolean' },
    json: { type: 'boolean' },
    ...CONNECTION_OPTIONS,
  },
  async run({ values }, io) {
    const room = requireFlag(values, 'room', 'the room');
    const text = stringFlag(values, 'data');
    if (text === undefined) requireFlag(values, 'data', 'the payload');
    const payload = new TextEncoder().encode(text ?? '');
    const topic = stringFlag(values, 'topic');
    const identities = listFlag(values, 'identity');
    const lossy = boolFlag(values, 'lossy');
    const conn = resolveConnection(values, io.env);
    await callApi(conn, (c) =>
      c.sendData(room, payload, lossy ? DataPacket_Kind.LOSSY : DataPacket_Kind.RELIABLE, {
        ...(topic !== undefined ? { topic } : {}),
        ...(identities.length > 0 ? { destinationIdentities: identities } : {}),
      }),
    );
    const kind = lossy ? 'lossy' : 'reliable';
    if (boolFlag(values, 'json')) {
      io.stdout(formatJson({ room, bytes: payload.length, kind, topic: topic ?? null, destinationIdentities: identities }));
    } else {
      const to = identities.length > 0 ? identities.join(', ') : 'everyone';
      io.stdout(`sent ${payload.length} bytes (${kind}${topic !== undefined ? `, topic '${topic}'` : ''}) to ${to} in room ${room}\n`);
    }
  },
};

export const DATA_COMMANDS: readonly Command[] = [dataSend];
