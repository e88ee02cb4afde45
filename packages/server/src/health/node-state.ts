// Whether this node serves or drains, and what the health check and joins answer while it drains.
// LiveKit answers `GET /` with 200 "OK" when ready and 406 "Not Ready\n..." when not (pkg/service/server.go).

import { DRAINING_MESSAGE } from '../rtc/join-admission.js';

/** LiveKit's not-ready status for the health check. */
export const NOT_READY_STATUS = 406;
export const NOT_READY_BODY = 'Not Ready\nserver is draining: it takes no new rooms';
/** Joins (and /rtc/validate) that would create a room while draining get this, with HTTP 503. */
export const DRAINING_STATUS = 503;
export const DRAINING_REFUSAL = DRAINING_MESSAGE;

export class NodeState {
  private draining = false;

  get isDraining(): boolean {
    return this.draining;
  }

  startDraining(): void {
    this.draining = true;
  }

  /** The health check (`GET /`) answer. */
  health(): { status: number; body: string } {
    return this.draining ? { status: NOT_READY_STATUS, body: NOT_READY_BODY } : { status: 200, body: 'OK' };
  }
}
