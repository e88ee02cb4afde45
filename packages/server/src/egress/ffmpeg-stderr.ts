// ffmpeg's stderr as the egress keeps it: every line to the debug log (component=egress, ffmpeg=...), the last few
// kept for the reason given when it fails.
import type { Readable } from 'node:stream';
import type { Logger } from '@atrium/webrtc';

export class StderrTail {
  private readonly lines: string[] = [];

  constructor(stream: Readable | null | undefined, keep: number, log: Logger) {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        this.lines.push(line.trim());
        if (this.lines.length > keep) this.lines.shift();
        log.debug({ ffmpeg: line.trim() }, 'ffmpeg');
      }
    });
  }

  /** The last `n` lines, joined with ' | '. */
  last(n: number): string {
    return this.lines.slice(-n).join(' | ');
  }
}
