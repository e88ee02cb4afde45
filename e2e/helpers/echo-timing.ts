// Round-trip latency of an echo, from the page's echo probe (e2e/fixtures/participant-page.js startEchoProbe): per
// block of audio frames, the power of the test tone in the local microphone (what is sent) and in the echoed track
// (what comes back), both read by one ScriptProcessorNode, so block indexes are one clock. The test switches the
// microphone off and on again; each switch is an edge in the local power, and the same edge arrives in the echo a
// round trip later. Pure functions, unit-tested in echo-timing.test.ts.

/** [local tone power, echoed tone power] of one block. */
export type EchoBlock = [number, number];

export interface EchoEdges {
  /** Tone level thresholds: 10% (-10 dB) of each channel's median level while the tone was on before `offBlock`. */
  localThreshold: number;
  remoteThreshold: number;
  /** First block at or after the switch where the local tone is below (off) / above (on) its threshold. */
  localOff: number;
  localOn: number;
  /** First block at or after the local edge where the echo crosses its threshold and stays there for `holdBlocks`. */
  remoteOff: number;
  remoteOn: number;
  offLatencyMs: number;
  onLatencyMs: number;
  /** The echo was off (below threshold) for `holdBlocks` just before localOn: its onset cannot be an earlier one. */
  echoSilentBeforeOn: boolean;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** First index i >= from where pred holds for blocks i .. i+hold-1; -1 if none. */
function firstSustained(blocks: EchoBlock[], from: number, hold: number, pred: (b: EchoBlock) => boolean): number {
  let run = 0;
  for (let i = Math.max(0, from); i < blocks.length; i++) {
    run = pred(blocks[i]!) ? run + 1 : 0;
    if (run === hold) return i - hold + 1;
  }
  return -1;
}

/**
 * Finds the off and on edges in `blocks` (indexes from the probe's start): the microphone was switched off at block
 * `offBlock` and on again at `onBlock`. Throws when an edge is missing (the echo never went quiet or never came back).
 */
export function echoEdges(
  blocks: EchoBlock[],
  opts: { offBlock: number; onBlock: number; blockFrames: number; sampleRate: number; holdBlocks?: number; levelBlocks?: number },
): EchoEdges {
  const hold = opts.holdBlocks ?? 20;
  const levelBlocks = opts.levelBlocks ?? 100;
  const before = blocks.slice(Math.max(0, opts.offBlock - levelBlocks), opts.offBlock);
  if (before.length < levelBlocks / 2) throw new Error(`only ${before.length} blocks before the microphone was switched off`);
  const localThreshold = median(before.map((b) => b[0])) / 10;
  const remoteThreshold = median(before.map((b) => b[1])) / 10;
  if (!(localThreshold > 0 && remoteThreshold > 0)) throw new Error('no tone before the microphone was switched off');
  const localOff = firstSustained(blocks, opts.offBlock, 1, (b) => b[0] < localThreshold);
  if (localOff < 0) throw new Error('the local tone never stopped');
  const remoteOff = firstSustained(blocks, localOff, hold, (b) => b[1] < remoteThreshold);
  if (remoteOff < 0) throw new Error('the echo never went quiet');
  const localOn = firstSustained(blocks, opts.onBlock, 1, (b) => b[0] >= localThreshold);
  if (localOn < 0) throw new Error('the local tone never came back');
  const remoteOn = firstSustained(blocks, localOn, hold, (b) => b[1] >= remoteThreshold);
  if (remoteOn < 0) throw new Error('the echo never came back');
  const quietBefore = blocks.slice(Math.max(0, localOn - hold), localOn);
  const msPerBlock = (opts.blockFrames / opts.sampleRate) * 1000;
  return {
    localThreshold,
    remoteThreshold,
    localOff,
    localOn,
    remoteOff,
    remoteOn,
    offLatencyMs: (remoteOff - localOff) * msPerBlock,
    onLatencyMs: (remoteOn - localOn) * msPerBlock,
    echoSilentBeforeOn: quietBefore.length === hold && quietBefore.every((b) => b[1] < remoteThreshold),
  };
}
