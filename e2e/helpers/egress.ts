// Waiting on an egress through livekit-server-sdk's EgressClient (ListEgress polled), and finding the ffmpeg process
// that writes a given output, for the egress e2e tests.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { EgressStatus } from '@livekit/protocol';
import type { EgressInfo } from '@livekit/protocol';
import type { EgressClient } from 'livekit-server-sdk';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';

export function egressWaits(client: () => EgressClient) {
  const infoOf = async (id: string): Promise<EgressInfo> => {
    const [info] = await client().listEgress({ egressId: id });
    assert.ok(info, `egress ${id} listed`);
    return info;
  };
  /** Waits until the egress is ACTIVE; returns when that was seen (the start of its wall time). */
  const waitActive = async (id: string): Promise<number> => {
    await waitFor(async () => (await infoOf(id)).status === EgressStatus.EGRESS_ACTIVE, { timeoutMs: 15_000, intervalMs: 50, label: `${id} ACTIVE`, describe: async () => JSON.stringify((await infoOf(id)).toJson()) });
    return performance.now();
  };
  const waitEnded = (id: string, status: EgressStatus, timeoutMs = 20_000): Promise<EgressInfo> =>
    waitFor(async () => {
      const info = await infoOf(id);
      return info.status === status ? info : undefined;
    }, { timeoutMs, intervalMs: 100, label: `${id} ${EgressStatus[status]}`, describe: async () => JSON.stringify((await infoOf(id)).toJson()) });
  return { infoOf, waitActive, waitEnded };
}

/** The pid of the process whose command line has an argument containing `text` (e.g. an output path). */
export function pidWithArgument(text: string): number | undefined {
  const pid = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).find((d) => {
    try {
      return readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').some((a) => a.includes(text));
    } catch {
      return false;
    }
  });
  return pid === undefined ? undefined : Number(pid);
}
