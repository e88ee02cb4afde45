// Where each participant goes in a room composite frame: LiveKit's built-in egress layouts (the templates of
// livekit/egress: grid, speaker, single-speaker, each with -dark/-light colour variants) computed as plain rectangles.
// Pure: the compositor asks again whenever someone joins, leaves, publishes, mutes or starts speaking.

export type LayoutKind = 'grid' | 'speaker' | 'single-speaker';

export interface LayoutSpec {
  kind: LayoutKind;
  /** The background behind and between tiles (the -light variants are light grey, everything else near black). */
  theme: 'dark' | 'light';
}

/** LiveKit's default layout when the request names none. */
export const DEFAULT_LAYOUT = 'speaker';

/** A layout name as LiveKit's room composite takes it; undefined for a name we do not know. */
export function parseLayout(name: string): LayoutSpec | undefined {
  const m = /^(grid|speaker|single-speaker)(?:-(dark|light))?$/.exec((name === '' ? DEFAULT_LAYOUT : name).trim().toLowerCase());
  if (!m) return undefined;
  return { kind: m[1] as LayoutKind, theme: m[2] === 'light' ? 'light' : 'dark' };
}

export interface LayoutParticipant {
  identity: string;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Tile extends Rect {
  identity: string;
}

export interface LayoutInput {
  spec: LayoutSpec;
  width: number;
  height: number;
  /** Visible participants, in the order they should fill the layout (join order). */
  participants: readonly LayoutParticipant[];
  /** The participant shown large by the speaker layouts (the active, or last active, speaker). */
  speaker?: string | undefined;
}

/** Tiles keep this shape: a 16:9 camera fills one exactly, other shapes are letterboxed inside it. */
const TILE_ASPECT = 16 / 9;
/** More than this many participants: the grid shows the first ones (LiveKit's template pages; we do not). */
export const MAX_GRID_TILES = 16;
/** The speaker layout's strip of other participants takes this share of the width. */
const STRIP_SHARE = 0.2;
const GAP = 4;

/** Rounded down to an even number: I420 chroma planes are half size, so tiles start and end on even pixels. */
const even = (v: number): number => Math.max(0, Math.floor(v / 2) * 2);

/** The largest TILE_ASPECT rectangle centred in `cell`, on even pixels. */
export function fitTile(cell: Rect): Rect {
  let width = cell.width;
  let height = width / TILE_ASPECT;
  if (height > cell.height) {
    height = cell.height;
    width = height * TILE_ASPECT;
  }
  const w = even(width);
  const h = even(height);
  return { x: even(cell.x + (cell.width - w) / 2), y: even(cell.y + (cell.height - h) / 2), width: w, height: h };
}

/** Columns and rows of a near-square grid for n tiles, wider than tall when it cannot be square (as LiveKit's). */
export function gridShape(n: number): { cols: number; rows: number } {
  if (n <= 0) return { cols: 0, rows: 0 };
  const cols = Math.ceil(Math.sqrt(n));
  return { cols, rows: Math.ceil(n / cols) };
}

function gridTiles(ids: readonly string[], area: Rect): Tile[] {
  const shown = ids.slice(0, MAX_GRID_TILES);
  const { cols, rows } = gridShape(shown.length);
  if (cols === 0) return [];
  const cellW = area.width / cols;
  const cellH = area.height / rows;
  const tiles: Tile[] = [];
  // a single participant fills the frame; gaps are between tiles only
  const gap = shown.length > 1 ? GAP : 0;
  shown.forEach((identity, i) => {
    const row = Math.floor(i / cols);
    const col = i % cols;
    // an incomplete last row is centred, as the grid template does
    const inRow = row === rows - 1 ? shown.length - row * cols : cols;
    const offset = ((cols - inRow) * cellW) / 2;
    const cell = { x: area.x + offset + col * cellW + gap / 2, y: area.y + row * cellH + gap / 2, width: cellW - gap, height: cellH - gap };
    tiles.push({ identity, ...fitTile(cell) });
  });
  return tiles;
}

/** The participant the speaker layouts put large: the given speaker when present, otherwise the first. */
export function mainParticipant(input: LayoutInput): string | undefined {
  const ids = input.participants.map((p) => p.identity);
  if (input.speaker !== undefined && ids.includes(input.speaker)) return input.speaker;
  return ids[0];
}

/** The tiles of one frame; every tile lies inside the frame, on even pixels, and no two overlap. */
export function computeLayout(input: LayoutInput): Tile[] {
  const frame: Rect = { x: 0, y: 0, width: input.width, height: input.height };
  const ids = input.participants.map((p) => p.identity);
  if (ids.length === 0) return [];
  if (input.spec.kind === 'grid') return gridTiles(ids, frame);
  const main = mainParticipant(input)!;
  if (input.spec.kind === 'single-speaker' || ids.length === 1) return [{ identity: main, ...fitTile(frame) }];
  // speaker: the main participant on the left, the others stacked in a strip on the right
  const stripW = even(input.width * STRIP_SHARE);
  const mainArea: Rect = { x: 0, y: 0, width: input.width - stripW, height: input.height };
  const others = ids.filter((id) => id !== main);
  const slotH = (stripW - GAP) / TILE_ASPECT + GAP;
  const slots = Math.max(1, Math.floor(input.height / slotH));
  const shown = others.slice(0, slots);
  // the strip is centred vertically, as the template's carousel
  const top = (input.height - shown.length * slotH) / 2;
  const tiles: Tile[] = [{ identity: main, ...fitTile(mainArea) }];
  shown.forEach((identity, i) => {
    tiles.push({ identity, ...fitTile({ x: mainArea.width + GAP / 2, y: top + i * slotH + GAP / 2, width: stripW - GAP, height: slotH - GAP }) });
  });
  return tiles;
}
