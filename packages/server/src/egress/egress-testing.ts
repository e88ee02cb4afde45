// Test helpers for the egress code (unit and e2e tests): an error's `code: message` as a string, a free TCP port, and
// an ffmpeg listening for one RTMP publish (the receiving end of a stream output).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';

/** What `fn` throws as `code: message` (an EgressError's code; a plain Error's name), or 'no error'. */
export function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return `${(err as { code?: string }).code ?? (err as Error).name}: ${(err as Error).message}`;
  }
  return 'no error';
}

/** A TCP port free on loopback at the time of asking. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function isTcpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export interface RtmpReceiver {
  /** rtmp://127.0.0.1:<port>/live/streamkey<port> */
  url: string;
  proc: ChildProcess;
  /** ffmpeg's exit code once it finished the file (the publisher ended its stream). */
  done: Promise<number | null>;
}

/** An ffmpeg listening for one RTMP publish on loopback and copying it into `file`; resolves once it listens. */
export async function startRtmpReceiver(file: string, ffmpegPath = 'ffmpeg'): Promise<RtmpReceiver> {
  const port = await freeTcpPort();
  const url = `rtmp://127.0.0.1:${port}/live/streamkey${port}`;
  const proc = spawn(ffmpegPath, ['-v', 'error', '-listen', '1', '-timeout', '60', '-i', url, '-c', 'copy', '-y', file], { stdio: 'ignore' });
  const done = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await waitFor(async () => !(await isTcpPortFree(port)), { timeoutMs: 5_000, label: 'the RTMP receiver listening' });
  return { url, proc, done };
}
