// Senders placed on the remote's m-lines when we answer (the remote is always the offerer): each waits for a
// `recvonly` m-line of its kind in an offer, keeps it while later offers still receive there, and an m-line whose
// sender was removed is answered `inactive` once before it may carry another track. LiveKit's single PC mode
// (livekit-client's pre-created recvonly transceivers, MediaSectionsRequirement for more) is built on this.
import type { LocalSender } from './local-sender.js';
import type { MediaSection, SessionDescriptionModel } from '../sdp/index.js';

export interface SlotCounts {
  audio: number;
  video: number;
}

export class AnswerSenderSlots {
  /** Waiting for an m-line, in the order they were added. */
  private readonly unbound: LocalSender[] = [];
  /** mid -> the sender our answers place there. */
  private readonly bound = new Map<string, LocalSender>();
  /** mids whose sender was removed: the next answer makes them inactive; then they are free again. */
  private readonly retiring = new Set<string>();

  add(sender: LocalSender): void {
    sender.mid = '';
    this.unbound.push(sender);
  }

  /** True when `sender` was one of ours (bound or waiting). */
  remove(sender: LocalSender): boolean {
    const i = this.unbound.indexOf(sender);
    if (i >= 0) {
      this.unbound.splice(i, 1);
      return true;
    }
    if (sender.mid !== '' && this.bound.get(sender.mid) === sender) {
      this.bound.delete(sender.mid);
      this.retiring.add(sender.mid);
      return true;
    }
    return false;
  }

  has(sender: LocalSender): boolean {
    return this.unbound.includes(sender) || (sender.mid !== '' && this.bound.get(sender.mid) === sender);
  }

  /**
   * Places senders on `offer`'s m-lines and returns them by mid (what the answer sends on). A bound sender whose
   * m-line no longer receives (gone, rejected, another kind or direction) waits again; waiting senders take free
   * `recvonly` m-lines of their kind in offer order. `unbindHook` sees each sender that lost its m-line.
   */
  assign(offer: SessionDescriptionModel, unbindHook: (sender: LocalSender) => void): Map<string, LocalSender> {
    const byMid = new Map(offer.media.map((m) => [m.mid, m]));
    for (const [mid, sender] of [...this.bound]) {
      const m = byMid.get(mid);
      if (m !== undefined && canCarry(m, sender.kind)) continue;
      this.bound.delete(mid);
      unbindHook(sender);
      sender.mid = '';
      this.unbound.unshift(sender);
    }
    for (const m of offer.media) {
      if (this.unbound.length === 0) break;
      if (!canCarry(m, m.kind) || m.direction !== 'recvonly' || this.bound.has(m.mid) || this.retiring.has(m.mid)) continue;
      const i = this.unbound.findIndex((s) => s.kind === m.kind);
      if (i < 0) continue;
      const sender = this.unbound.splice(i, 1)[0]!;
      sender.mid = m.mid;
      this.bound.set(m.mid, sender);
    }
    return new Map(this.bound);
  }

  /** The answer to the offer `assign` saw went out: the retired m-lines it made inactive are free again. */
  answered(): void {
    this.retiring.clear();
  }

  /** Senders waiting for an m-line, by kind. */
  get unboundCounts(): SlotCounts {
    const out = { audio: 0, video: 0 };
    for (const s of this.unbound) out[s.kind]++;
    return out;
  }

  /** m-lines of `remote` (the last offer) a waiting sender could take with the next offer, by kind. */
  freeCounts(remote: SessionDescriptionModel | undefined): SlotCounts {
    const out = { audio: 0, video: 0 };
    for (const m of remote?.media ?? []) {
      if (m.kind === 'application' || m.direction !== 'recvonly' || !canCarry(m, m.kind)) continue;
      if (!this.bound.has(m.mid)) out[m.kind]++;
    }
    return out;
  }

  /** An offer is needed: a sender waits for an m-line, or a removed one's m-line must be answered inactive. */
  get needsOffer(): boolean {
    return this.unbound.length > 0 || this.retiring.size > 0;
  }

  clear(): void {
    this.unbound.length = 0;
    this.bound.clear();
    this.retiring.clear();
  }
}

/** The remote receives media of `kind` on this m-line (it is not rejected). */
function canCarry(m: MediaSection, kind: string): boolean {
  return m.port !== 0 && m.kind === kind && (m.direction === 'recvonly' || m.direction === 'sendrecv');
}
