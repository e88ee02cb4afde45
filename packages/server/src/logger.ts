// The server's pino logger, typed as the shared Logger interface (child loggers carry room/participant context).
import { pino } from 'pino';
import type { Logger } from '@atrium/webrtc';

export function createLogger(opts: { level: string; name?: string }): Logger {
  return pino({ level: opts.level, name: opts.name ?? 'atrium' }) as unknown as Logger;
}
