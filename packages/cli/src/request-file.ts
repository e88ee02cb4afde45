// A request message read from a JSON file (LiveKit's protobuf JSON, as `lk egress start` / `lk ingress create` take),
// or from standard input with '-'. Field names may be proto names (room_name) or JSON names (roomName); an unknown
// field or a malformed file is a clear error naming the file, never a request sent half-read.
import { readFileSync } from 'node:fs';
import { CliError } from './command.js';

export interface JsonReadable<T> {
  fromJsonString(json: string, options?: { ignoreUnknownFields?: boolean }): T;
  readonly typeName: string;
}

export function readRequestFile<T>(path: string, type: JsonReadable<T>, read: (path: string | 0) => string = (p) => readFileSync(p, 'utf8')): T {
  let text: string;
  try {
    text = read(path === '-' ? 0 : path);
  } catch (err) {
    throw new CliError(`cannot read ${path === '-' ? 'standard input' : path}: ${(err as Error).message}`);
  }
  try {
    return type.fromJsonString(text);
  } catch (err) {
    const name = type.typeName.replace(/^livekit\./, '');
    throw new CliError(`${path === '-' ? 'standard input' : path} is not a ${name} in JSON: ${(err as Error).message}`);
  }
}
