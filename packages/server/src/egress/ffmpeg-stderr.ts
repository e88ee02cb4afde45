// ffmpeg's stderr as the egress keeps it: every line to the debug log (component=egress, ffmpeg=...), the last few
// kept for the reason given when it fails, and the first output write error noticed. ffmpeg goes on (and exits 0)
// when it cannot write its output, e.g. on a full disk, so that line is the only sign.
import type { Readable } from 'node:stream';
import type { Logger } from '@atrium/webrtc';

/** The lines by which ffmpeg says it could not write an output (a full disk, a read-only one, a quota). */
const WRITE_ERROR = /No space left on device|Disk quota exceeded|Read-only file system|Error writing trailer|Error closing file|Error writing (?:output|packet|header)/i;

export class StderrTail {
  private readonly lines: string[] = [];
  /** The first line saying an output could not be written. */
  writeError: string | undefined;
  /** Called once, at that line. */
  onWriteError: ((line: string) => void) | undefined;

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
        if (this.writeError === undefined && WRITE_ERROR.test(line)) {
          this.writeError = line.trim();
          this.onWriteError?.(this.writeError);
        }
        log.debug({ ffmpeg: line.trim() }, 'ffmpeg');
      }
    });
  }

  /** The last `n` lines, joined with ' | '. */
  last(n: number): string {
    return this.lines.slice(-n).join(' | ');
  }
}
