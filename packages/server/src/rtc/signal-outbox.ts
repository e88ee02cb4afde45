// What a participant is sent while its signal connection is down and it waits for a resume (docs/resume.md): kept in
// order and delivered after the ReconnectResponse. Bounded: past the limit nothing more is kept and the resume is
// refused (the client then rejoins with a full reconnect and gets everything fresh).
import type { SignalResponse } from '@livekit/protocol';

/** Messages kept at most; a room busy enough to exceed it in a resume window gets a full reconnect instead. */
export const MAX_OUTBOX_MESSAGES = 4096;

/**
 * Messages not worth delivering after a resume: subscriber offers and server candidates (the ICE-restart offer sent
 * on resume replaces them, with the current m-lines and new credentials), pongs to pings of the old connection.
 */
const SUPERSEDED = new Set<string | undefined>(['offer', 'trickle', 'pong', 'pongResp']);

export class SignalOutbox {
  private readonly messages: SignalResponse[] = [];
  private overflowed = false;
  private readonly maxMessages: number;

  constructor(opts: { maxMessages?: number } = {}) {
    this.maxMessages = opts.maxMessages ?? MAX_OUTBOX_MESSAGES;
  }

  /** More was sent than could be kept: the resume must be refused. */
  get hasOverflowed(): boolean {
    return this.overflowed;
  }

  get size(): number {
    return this.messages.length;
  }

  push(msg: SignalResponse): void {
    if (this.overflowed || SUPERSEDED.has(msg.message.case)) return;
    if (this.messages.length >= this.maxMessages) {
      this.overflowed = true;
      this.messages.length = 0;
      return;
    }
    this.messages.push(msg);
  }

  /** The kept messages in the order they were sent; empties the outbox. */
  drain(): SignalResponse[] {
    return this.messages.splice(0);
  }
}
