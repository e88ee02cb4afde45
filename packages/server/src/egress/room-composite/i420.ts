// Raw I420 (yuv420p) frames as the decoders give them and the encoder takes them: a full-size Y plane, then U and V at
// half width and height. The compositor's drawing: flat fills and a nearest-neighbour scale of a decoded frame into a
// tile. Nearest is enough for tiles no larger than twice the decoded size, and costs one table lookup per pixel; the
// tables are computed once per (source size, tile size) and kept, as layouts change rarely.
import type { Rect } from './layout.js';

export interface I420Frame {
  width: number;
  height: number;
  data: Buffer;
}

export interface Yuv {
  y: number;
  u: number;
  v: number;
}

export const i420Size = (width: number, height: number): number => width * height + 2 * ((width >> 1) * (height >> 1));

export function newFrame(width: number, height: number): I420Frame {
  return { width, height, data: Buffer.alloc(i420Size(width, height)) };
}

/** BT.601 limited range, what ffmpeg assumes for yuv420p without colour tags. */
export function rgbToYuv(r: number, g: number, b: number): Yuv {
  const clamp = (v: number): number => Math.max(0, Math.min(255, Math.round(v)));
  return {
    y: clamp(16 + 0.257 * r + 0.504 * g + 0.098 * b),
    u: clamp(128 - 0.148 * r - 0.291 * g + 0.439 * b),
    v: clamp(128 + 0.439 * r - 0.368 * g - 0.071 * b),
  };
}

function planes(f: I420Frame): { y: number; u: number; v: number; cw: number } {
  const cw = f.width >> 1;
  const u = f.width * f.height;
  return { y: 0, u, v: u + cw * (f.height >> 1), cw };
}

/** Paints `rect` (even coordinates) of `f` with one colour. */
export function fillRect(f: I420Frame, rect: Rect, c: Yuv): void {
  const p = planes(f);
  const x1 = Math.min(f.width, rect.x + rect.width);
  const y1 = Math.min(f.height, rect.y + rect.height);
  for (let y = rect.y; y < y1; y++) f.data.fill(c.y, p.y + y * f.width + rect.x, p.y + y * f.width + x1);
  for (let y = rect.y >> 1; y < y1 >> 1; y++) {
    f.data.fill(c.u, p.u + y * p.cw + (rect.x >> 1), p.u + y * p.cw + (x1 >> 1));
    f.data.fill(c.v, p.v + y * p.cw + (rect.x >> 1), p.v + y * p.cw + (x1 >> 1));
  }
}

interface ScaleTables {
  /** Source column for each destination column, luma and chroma; source row offsets (already times the stride). */
  lx: Int32Array;
  ly: Int32Array;
  cx: Int32Array;
  cy: Int32Array;
}

const tableCache = new Map<string, ScaleTables>();
const TABLE_CACHE_MAX = 64;

function indexTable(dst: number, src: number, stride: number): Int32Array {
  const t = new Int32Array(dst);
  // sample at the centre of each destination pixel
  for (let i = 0; i < dst; i++) t[i] = Math.min(src - 1, Math.floor(((i + 0.5) * src) / dst)) * stride;
  return t;
}

function tablesFor(sw: number, sh: number, dw: number, dh: number): ScaleTables {
  const key = `${sw}x${sh}>${dw}x${dh}`;
  let t = tableCache.get(key);
  if (!t) {
    if (tableCache.size >= TABLE_CACHE_MAX) tableCache.clear();
    t = { lx: indexTable(dw, sw, 1), ly: indexTable(dh, sh, sw), cx: indexTable(dw >> 1, sw >> 1, 1), cy: indexTable(dh >> 1, sh >> 1, sw >> 1) };
    tableCache.set(key, t);
  }
  return t;
}

/** Scales all of `src` into `rect` of `dst` (nearest neighbour; even rect). */
export function drawScaled(dst: I420Frame, rect: Rect, src: I420Frame): void {
  const dw = Math.min(rect.width, dst.width - rect.x);
  const dh = Math.min(rect.height, dst.height - rect.y);
  if (dw <= 0 || dh <= 0) return;
  const t = tablesFor(src.width, src.height, rect.width, rect.height);
  const d = dst.data;
  const s = src.data;
  const dp = planes(dst);
  const sp = planes(src);
  if (src.width === rect.width && src.height === rect.height) {
    // same size: row copies
    for (let y = 0; y < dh; y++) s.copy(d, dp.y + (rect.y + y) * dst.width + rect.x, y * src.width, y * src.width + dw);
    for (let y = 0; y < dh >> 1; y++) {
      const so = y * sp.cw;
      const dof = (rect.y / 2 + y) * dp.cw + rect.x / 2;
      s.copy(d, dp.u + dof, sp.u + so, sp.u + so + (dw >> 1));
      s.copy(d, dp.v + dof, sp.v + so, sp.v + so + (dw >> 1));
    }
    return;
  }
  for (let y = 0; y < dh; y++) {
    const row = t.ly[y]!;
    let o = dp.y + (rect.y + y) * dst.width + rect.x;
    for (let x = 0; x < dw; x++) d[o++] = s[row + t.lx[x]!]!;
  }
  const cw = dw >> 1;
  for (let y = 0; y < dh >> 1; y++) {
    const row = t.cy[y]!;
    let ou = dp.u + ((rect.y >> 1) + y) * dp.cw + (rect.x >> 1);
    let ov = dp.v + ((rect.y >> 1) + y) * dp.cw + (rect.x >> 1);
    for (let x = 0; x < cw; x++) {
      const i = row + t.cx[x]!;
      d[ou++] = s[sp.u + i]!;
      d[ov++] = s[sp.v + i]!;
    }
  }
}

/** The colour at (x, y): tests and the e2e's checks of decoded frames. */
export function pixelAt(f: I420Frame, x: number, y: number): Yuv {
  const p = planes(f);
  const ci = (y >> 1) * p.cw + (x >> 1);
  return { y: f.data[p.y + y * f.width + x]!, u: f.data[p.u + ci]!, v: f.data[p.v + ci]! };
}
