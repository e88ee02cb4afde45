// Draws the room composite's frames: the layout's tiles over a flat background, each tile the participant's latest
// decoded camera frame scaled in, or a flat placeholder when there is none (no camera, muted, nothing decoded yet).
// The tiles are recomputed only when the participants, the speaker or the layout change.
import { computeLayout } from './layout.js';
import type { LayoutParticipant, LayoutSpec, Tile } from './layout.js';
import { drawScaled, fillRect, newFrame, rgbToYuv } from './i420.js';
import type { I420Frame, Yuv } from './i420.js';

const THEMES: Record<LayoutSpec['theme'], { background: Yuv; placeholder: Yuv }> = {
  dark: { background: rgbToYuv(18, 18, 18), placeholder: rgbToYuv(58, 58, 58) },
  light: { background: rgbToYuv(238, 238, 238), placeholder: rgbToYuv(190, 190, 190) },
};

export class Compositor {
  readonly width: number;
  readonly height: number;
  private spec: LayoutSpec;
  private participants: LayoutParticipant[] = [];
  private speaker: string | undefined;
  private tiles: Tile[] | undefined;
  private readonly frames = new Map<string, I420Frame>();

  constructor(size: { width: number; height: number }, spec: LayoutSpec) {
    this.width = size.width;
    this.height = size.height;
    this.spec = spec;
  }

  get layout(): LayoutSpec {
    return this.spec;
  }

  setLayout(spec: LayoutSpec): void {
    this.spec = spec;
    this.tiles = undefined;
  }

  /** The visible participants in join order. */
  setParticipants(list: readonly LayoutParticipant[]): void {
    const same = list.length === this.participants.length && list.every((p, i) => p.identity === this.participants[i]!.identity);
    if (same) return;
    this.participants = list.map((p) => ({ identity: p.identity }));
    for (const id of this.frames.keys()) if (!list.some((p) => p.identity === id)) this.frames.delete(id);
    this.tiles = undefined;
  }

  setSpeaker(identity: string | undefined): void {
    if (identity === this.speaker) return;
    this.speaker = identity;
    this.tiles = undefined;
  }

  /** The participant's newest decoded frame; undefined shows the placeholder. */
  setFrame(identity: string, frame: I420Frame | undefined): void {
    if (frame) this.frames.set(identity, frame);
    else this.frames.delete(identity);
  }

  currentTiles(): Tile[] {
    this.tiles ??= computeLayout({ spec: this.spec, width: this.width, height: this.height, participants: this.participants, speaker: this.speaker });
    return this.tiles;
  }

  /** A new frame (a fresh buffer: the previous one may still be queued to the encoder). */
  compose(): Buffer {
    const out = newFrame(this.width, this.height);
    const theme = THEMES[this.spec.theme];
    fillRect(out, { x: 0, y: 0, width: this.width, height: this.height }, theme.background);
    for (const tile of this.currentTiles()) {
      const frame = this.frames.get(tile.identity);
      if (frame) drawScaled(out, tile, frame);
      else fillRect(out, tile, theme.placeholder);
    }
    return out.data;
  }
}
