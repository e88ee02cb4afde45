// Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. the Atrium child of `npm run bench -- compare
// --atrium-profile DIR`): self time by function and by source file, as shares of the sampled time, so the cost per
// forwarded packet can be split into SRTP, UDP sends, RTCP, the SFU and GC. Usage:
//   npx tsx bench/src/compare/profile-summary.ts FILE.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatTable } from '@atrium/cli/format.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self microseconds per node id. */
function selfTimes(p: Profile): Map<number, number> {
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0; // a sample's time is the gap to the next one
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
  }
  return self;
}

/** A short place for a frame: the path from packages/ or node_modules/, or the V8 pseudo-frame's name. */
function placeOf(url: string, functionName: string): string {
  if (url === '') return `(${functionName || 'native'})`;
  const m = /(packages\/.*|node_modules\/.*|node:.*)$/.exec(url.replace(/^file:\/\//, ''));
  return m ? m[1]! : url;
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string' } }, allowPositionals: true });
const file = positionals[0];
if (file === undefined) {
  console.error('usage: profile-summary.ts FILE.cpuprofile [--top N]');
  process.exitCode = 2;
} else {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const top = Number(values.top ?? 25);
  const self = selfTimes(p);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = p.nodes.filter((n) => n.callFrame.functionName === '(idle)').reduce((a, n) => a + (self.get(n.id) ?? 0), 0);
  const busy = total - idle;
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const n of p.nodes) {
    const t = self.get(n.id) ?? 0;
    if (t === 0 || n.callFrame.functionName === '(idle)') continue;
    const place = placeOf(n.callFrame.url, n.callFrame.functionName);
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${place}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + t);
    byFile.set(place, (byFile.get(place) ?? 0) + t);
  }
  const rows = (m: Map<string, number>): string[][] =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => [`${((100 * v) / busy).toFixed(1)}%`, `${(v / 1000).toFixed(0)} ms`, k]);
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (not idle); shares of busy time`);
  console.log(formatTable(['SELF', 'TIME', 'FUNCTION'], rows(byFn)));
  console.log(formatTable(['SELF', 'TIME', 'FILE'], rows(byFile)));
}
