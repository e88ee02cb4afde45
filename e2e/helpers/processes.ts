// Child processes of the server under test, found the way an operator would: by a command-line argument in /proc.
import { readFileSync, readdirSync } from 'node:fs';

/** The pid of a process one of whose arguments is exactly `arg` (e.g. the file an ffmpeg writes), or undefined. */
export function pidWithArgument(arg: string): number | undefined {
  const pid = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).find((d) => {
    try {
      return readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(arg);
    } catch {
      return false;
    }
  });
  return pid === undefined ? undefined : Number(pid);
}
