// The echo agent from docs/agents.md, an unmodified @livekit/agents 1.9 worker: for each room Atrium
// dispatches to it, it joins as an agent participant, subscribes to the first microphone track it sees
// and publishes the same audio back as its own microphone track ("echo").
//
//   LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret node echo-agent.mjs dev
//
// (`start` runs it in production mode: prewarmed job processes and a health server on :8081.)
import { fileURLToPath } from 'node:url';
import { AutoSubscribe, cli, defineAgent, WorkerOptions } from '@livekit/agents';
import {
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
} from '@livekit/rtc-node';

export default defineAgent({
  entry: async (ctx) => {
    await ctx.connect(undefined, AutoSubscribe.AUDIO_ONLY);
    const room = ctx.room;
    console.log(`echo-agent: joined room ${room.name} as ${room.localParticipant?.identity}`);

    /** Resolves with the first subscribed remote microphone track. */
    const firstMicrophone = new Promise((resolve) => {
      const check = (track, publication, participant) => {
        if (track.kind === TrackKind.KIND_AUDIO && publication.source === TrackSource.SOURCE_MICROPHONE) {
          resolve({ track, participant });
        }
      };
      room.on(RoomEvent.TrackSubscribed, check);
      for (const participant of room.remoteParticipants.values()) {
        for (const publication of participant.trackPublications.values()) {
          if (publication.track) check(publication.track, publication, participant);
        }
      }
    });
    const { track, participant } = await firstMicrophone;
    console.log(`echo-agent: echoing ${participant.identity}'s microphone ${track.sid}`);

    const sampleRate = 48_000;
    const source = new AudioSource(sampleRate, 1);
    const echo = LocalAudioTrack.createAudioTrack('echo', source);
    await room.localParticipant.publishTrack(
      echo,
      new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
    );
    console.log('echo-agent: published the echo track');

    const stream = new AudioStream(track, { sampleRate, numChannels: 1 });
    for await (const frame of stream) {
      await source.captureFrame(frame);
    }
  },
});

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  cli.runApp(new WorkerOptions({ agent: fileURLToPath(import.meta.url) }));
}
