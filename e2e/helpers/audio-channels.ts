// What a page hears of a subscribed audio track: the page's WebAudio analysis (participant-page.js `audioChannels`):
// per channel, the strongest frequency and its level, and the levels at the frequencies asked for.
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import type { BrowserParticipant } from './browser-participant.js';

export interface ChannelPeak { peakHz: number; peakDb: number; levels: Record<string, number> }
export interface AudioChannels { channelCount: number; contextState: string; channels: ChannelPeak[] }

/** Polls the listener's analysis of `trackSid` (every 250 ms) until `ok` holds; the error names the last analysis. */
export async function waitForAudioChannels(
  listener: BrowserParticipant, trackSid: string, probeHz: number[], ok: (a: AudioChannels) => boolean,
  opts: { label: string; timeoutMs: number },
): Promise<AudioChannels> {
  let last: AudioChannels | undefined;
  return waitFor(
    async () => {
      last = await listener.call<AudioChannels>('audioChannels', trackSid, probeHz);
      return ok(last) ? last : undefined;
    },
    { label: opts.label, timeoutMs: opts.timeoutMs, intervalMs: 250, describe: () => `last analysis: ${JSON.stringify(last)}` },
  );
}

/** The first channel's strongest frequency is within 10 Hz of `hz`, above -60 dB. */
export const hasTone = (hz: number) => (a: AudioChannels): boolean => {
  const c = a.channels[0];
  return c !== undefined && Math.abs(c.peakHz - hz) <= 10 && c.peakDb > -60;
};
