// The server's pino logger, typed as the shared Logger interface (child loggers carry room/participant context).
// Output goes through log-format.ts: JSON lines (logging.json: true) or readable console lines (the default).
import { pino } from 'pino';
import type { Logger } from '@atrium/webrtc';
import { createLogDestination } from './log-format.js';
import type { LogDestination } from './log-format.js';

export function createLogger(opts: { level: string; json?: boolean; name?: string; destination?: LogDestination }): Logger {
  const destination = opts.destination ?? createLogDestination({ json: opts.json ?? false });
  return pino({ level: opts.level, name: opts.name ?? 'atrium' }, destination) as unknown as Logger;
}
