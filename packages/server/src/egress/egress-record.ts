// One egress's EgressInfo (livekit_egress.proto) and the only transitions LiveKit's egress makes:
// STARTING -> ACTIVE -> ENDING -> COMPLETE, with FAILED from any live state and ABORTED for an egress stopped or cut
// off before its media ever started. Times are nanoseconds since the epoch, as LiveKit's.
import { EgressInfo, EgressStatus } from '@livekit/protocol';
import type { FileInfo } from '@livekit/protocol';

const NEXT: Readonly<Record<EgressStatus, readonly EgressStatus[]>> = {
  [EgressStatus.EGRESS_STARTING]: [EgressStatus.EGRESS_ACTIVE, EgressStatus.EGRESS_ENDING, EgressStatus.EGRESS_FAILED, EgressStatus.EGRESS_ABORTED],
  [EgressStatus.EGRESS_ACTIVE]: [EgressStatus.EGRESS_ENDING, EgressStatus.EGRESS_FAILED],
  [EgressStatus.EGRESS_ENDING]: [EgressStatus.EGRESS_COMPLETE, EgressStatus.EGRESS_FAILED, EgressStatus.EGRESS_ABORTED],
  [EgressStatus.EGRESS_COMPLETE]: [],
  [EgressStatus.EGRESS_FAILED]: [],
  [EgressStatus.EGRESS_ABORTED]: [],
  [EgressStatus.EGRESS_LIMIT_REACHED]: [],
};

export function isEgressLive(status: EgressStatus): boolean {
  return status === EgressStatus.EGRESS_STARTING || status === EgressStatus.EGRESS_ACTIVE || status === EgressStatus.EGRESS_ENDING;
}

export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}

export class EgressRecord {
  readonly info: EgressInfo;
  /** True once the egress went ACTIVE (media reached the muxer). */
  hasStarted = false;

  constructor(info: EgressInfo, nowWallMs: number) {
    this.info = info;
    info.status = EgressStatus.EGRESS_STARTING;
    info.updatedAt = msToNs(nowWallMs);
  }

  get status(): EgressStatus {
    return this.info.status;
  }
  get isLive(): boolean {
    return isEgressLive(this.info.status);
  }

  /** Moves to `to` when allowed; false (and nothing changes) otherwise. */
  private move(to: EgressStatus, nowWallMs: number): boolean {
    if (!NEXT[this.info.status].includes(to)) return false;
    this.info.status = to;
    this.info.updatedAt = msToNs(nowWallMs);
    return true;
  }

  /** Media is flowing into the output. */
  activate(nowWallMs: number): boolean {
    if (!this.move(EgressStatus.EGRESS_ACTIVE, nowWallMs)) return false;
    this.hasStarted = true;
    this.info.startedAt = msToNs(nowWallMs);
    return true;
  }

  /** Asked to stop (StopEgress, the room ended, the track ended); `details` says why. */
  ending(nowWallMs: number, details: string): boolean {
    if (!this.move(EgressStatus.EGRESS_ENDING, nowWallMs)) return false;
    this.info.details = details;
    return true;
  }

  /** The output is finished; `file` is its result. An egress that never started ends ABORTED instead. */
  complete(nowWallMs: number, file: FileInfo | undefined): boolean {
    if (!this.hasStarted) return this.abort(nowWallMs, this.info.details || 'egress stopped before any media was recorded');
    if (this.info.status === EgressStatus.EGRESS_ACTIVE) this.move(EgressStatus.EGRESS_ENDING, nowWallMs);
    if (!this.move(EgressStatus.EGRESS_COMPLETE, nowWallMs)) return false;
    this.finish(nowWallMs, file);
    return true;
  }

  fail(nowWallMs: number, error: string, file?: FileInfo): boolean {
    if (!this.move(EgressStatus.EGRESS_FAILED, nowWallMs)) return false;
    this.info.error = error;
    this.finish(nowWallMs, file);
    return true;
  }

  abort(nowWallMs: number, error: string): boolean {
    if (!this.move(EgressStatus.EGRESS_ABORTED, nowWallMs)) return false;
    this.info.error = error;
    this.finish(nowWallMs, undefined);
    return true;
  }

  private finish(nowWallMs: number, file: FileInfo | undefined): void {
    this.info.endedAt = msToNs(nowWallMs);
    if (file) {
      this.info.fileResults = [file];
      // the deprecated single result, still read by older clients
      this.info.result = { case: 'file', value: file };
    }
  }
}
