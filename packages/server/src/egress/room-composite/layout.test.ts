import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeLayout, fitTile, gridShape, MAX_GRID_TILES, parseLayout } from './layout.js';
import type { LayoutInput, Tile } from './layout.js';

const people = (n: number) => Array.from({ length: n }, (_, i) => ({ identity: `p${i}` }));
const input = (kind: string, n: number, extra: Partial<LayoutInput> = {}): LayoutInput => ({ spec: parseLayout(kind)!, width: 1280, height: 720, participants: people(n), ...extra });

/** What every layout must satisfy: inside the frame, even pixels (I420), not empty, no overlaps. */
function assertSane(tiles: Tile[], width: number, height: number): void {
  for (const t of tiles) {
    assert.ok(t.x >= 0 && t.y >= 0 && t.x + t.width <= width && t.y + t.height <= height, `inside: ${JSON.stringify(t)}`);
    for (const v of [t.x, t.y, t.width, t.height]) assert.equal(v % 2, 0, `even: ${JSON.stringify(t)}`);
    assert.ok(t.width > 0 && t.height > 0);
  }
  for (const a of tiles) {
    for (const b of tiles) {
      if (a === b) continue;
      const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
      assert.ok(apart, `${a.identity} and ${b.identity} overlap`);
    }
  }
}

test('layout names: LiveKit built-ins and their colour variants; the default is speaker; others are unknown', () => {
  assert.deepEqual(parseLayout(''), { kind: 'speaker', theme: 'dark' });
  assert.deepEqual(parseLayout('grid'), { kind: 'grid', theme: 'dark' });
  assert.deepEqual(parseLayout('grid-light'), { kind: 'grid', theme: 'light' });
  assert.deepEqual(parseLayout('speaker-dark'), { kind: 'speaker', theme: 'dark' });
  assert.deepEqual(parseLayout('single-speaker-light'), { kind: 'single-speaker', theme: 'light' });
  assert.equal(parseLayout('mosaic'), undefined);
  assert.equal(parseLayout('grid-blue'), undefined);
});

test('grid shape is near square, wider than tall', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 9, 10].map((n) => gridShape(n)), [
    { cols: 1, rows: 1 }, { cols: 2, rows: 1 }, { cols: 2, rows: 2 }, { cols: 2, rows: 2 }, { cols: 3, rows: 2 }, { cols: 3, rows: 3 }, { cols: 4, rows: 3 },
  ]);
});

test('fitTile keeps 16:9 and centres', () => {
  assert.deepEqual(fitTile({ x: 0, y: 0, width: 1280, height: 720 }), { x: 0, y: 0, width: 1280, height: 720 });
  const t = fitTile({ x: 0, y: 0, width: 640, height: 720 });
  assert.equal(t.width, 640);
  assert.equal(t.height, 360);
  assert.equal(t.y, 180);
});

test('grid: one participant fills the frame; four make a 2x2 of quarter tiles in join order', () => {
  assert.deepEqual(computeLayout(input('grid', 1)), [{ identity: 'p0', x: 0, y: 0, width: 1280, height: 720 }]);
  const four = computeLayout(input('grid', 4));
  assertSane(four, 1280, 720);
  assert.deepEqual(four.map((t) => t.identity), ['p0', 'p1', 'p2', 'p3']);
  // p0 top left, p1 top right, p2 bottom left, p3 bottom right
  assert.ok(four[0]!.x < 640 && four[0]!.y < 360 && four[1]!.x >= 640 && four[1]!.y < 360);
  assert.ok(four[2]!.x < 640 && four[2]!.y >= 360 && four[3]!.x >= 640 && four[3]!.y >= 360);
  for (const t of four) assert.ok(t.width >= 630 && Math.abs(t.width / t.height - 16 / 9) < 0.02, JSON.stringify(t));
});

test('grid: an incomplete last row is centred; two side by side are letterboxed vertically', () => {
  const three = computeLayout(input('grid', 3));
  assertSane(three, 1280, 720);
  const centre = three[2]!.x + three[2]!.width / 2;
  assert.ok(Math.abs(centre - 640) <= 2, `third tile centred: ${centre}`);
  const two = computeLayout(input('grid', 2));
  assertSane(two, 1280, 720);
  assert.equal(two[0]!.y, two[1]!.y);
  assert.ok(two[0]!.y > 100, 'letterboxed');
});

test(`grid: at most ${MAX_GRID_TILES} tiles, always sane`, () => {
  for (let n = 1; n <= 20; n++) {
    const tiles = computeLayout(input('grid', n));
    assert.equal(tiles.length, Math.min(n, MAX_GRID_TILES));
    assertSane(tiles, 1280, 720);
    assertSane(computeLayout({ ...input('grid', n), width: 720, height: 1280 }), 720, 1280);
  }
});

test('speaker: the active speaker large on the left, the others in a strip on the right', () => {
  const tiles = computeLayout(input('speaker', 4, { speaker: 'p2' }));
  assertSane(tiles, 1280, 720);
  assert.equal(tiles[0]!.identity, 'p2');
  assert.ok(tiles[0]!.width >= 1000, 'main tile is large');
  assert.deepEqual(tiles.slice(1).map((t) => t.identity), ['p0', 'p1', 'p3']);
  for (const t of tiles.slice(1)) assert.ok(t.x >= tiles[0]!.x + tiles[0]!.width && t.width <= 256);
});

test('speaker: without a (present) speaker the first participant is main; alone it fills the frame', () => {
  assert.equal(computeLayout(input('speaker', 3))[0]!.identity, 'p0');
  assert.equal(computeLayout(input('speaker', 3, { speaker: 'gone' }))[0]!.identity, 'p0');
  assert.deepEqual(computeLayout(input('speaker', 1)), [{ identity: 'p0', x: 0, y: 0, width: 1280, height: 720 }]);
});

test('speaker: the strip shows as many as fit', () => {
  const tiles = computeLayout(input('speaker', 12));
  assertSane(tiles, 1280, 720);
  assert.ok(tiles.length > 4 && tiles.length < 12, `${tiles.length} tiles`);
});

test('single-speaker: only the speaker', () => {
  assert.deepEqual(computeLayout(input('single-speaker', 3, { speaker: 'p1' })), [{ identity: 'p1', x: 0, y: 0, width: 1280, height: 720 }]);
  assert.deepEqual(computeLayout(input('single-speaker', 0)), []);
});
