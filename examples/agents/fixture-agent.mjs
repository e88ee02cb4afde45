// Test fixture for e2e/agent-dispatch.test.ts (not an example to copy): the echo agent
// (echo-agent.mjs) run by an unmodified @livekit/agents 1.9 worker, with knobs the dispatch scenarios need, set by
// environment variables:
//
//   AGENT_DECLINE=1     the worker's request function rejects every job it is offered
//   AGENT_LOAD=<0..1>   the load the worker reports (instead of the machine's CPU use), so the server's choice of
//                       worker does not depend on what else the machine is doing
//   AGENT_MAX_RETRY=<n> connection attempts before the worker gives up (the library's default is 10, 2..10 s apart)
//   AGENT_JOB_TYPE=room|publisher|participant
//                       the job type the worker registers for (default room): publisher and participant jobs name
//                       the participant they are about
//   LIVEKIT_AGENT_NAME  the agent name to register (read by @livekit/agents itself; empty: automatic dispatch)
//
// It prints one line per decision, all starting with "fixture-agent:", which the tests wait for:
//   worker process:  "fixture-agent: declining job AJ_…" / "fixture-agent: accepting job AJ_…"
//   job process:     "fixture-agent: job AJ_… joined room R as I on worker AW_… metadata M"
//                    "fixture-agent: job AJ_… shut down"
//                    "fixture-agent: job AJ_… of type T about P" (P: the job's participant identity, or -)
// and puts the job's metadata in the agent participant's attribute `fixture.job-metadata`, and the identity of the
// job's participant (publisher and participant jobs) in `fixture.job-participant`.
import { fileURLToPath } from 'node:url';
import { AutoSubscribe, cli, defineAgent, WorkerOptions } from '@livekit/agents';
import { JobType } from '@livekit/protocol';
import { RoomEvent } from '@livekit/rtc-node';
import echoAgent from './echo-agent.mjs';

export default defineAgent({
  entry: async (ctx) => {
    const jobId = ctx.job.id;
    ctx.addShutdownCallback(async () => {
      console.log(`fixture-agent: job ${jobId} shut down`);
    });
    await ctx.connect(undefined, AutoSubscribe.AUDIO_ONLY);
    const metadata = ctx.job.metadata ?? '';
    const about = ctx.job.participant?.identity ?? '';
    // The job's type arrives as the enum's name or its number, depending on how the SDK decoded it.
    const type = typeof ctx.job.type === 'number' ? JobType[ctx.job.type] : String(ctx.job.type);
    console.log(`fixture-agent: job ${jobId} of type ${type} about ${about || '-'}`);
    await ctx.room.localParticipant.setAttributes({ 'fixture.job-metadata': metadata, ...(about ? { 'fixture.job-participant': about } : {}) });
    console.log(
      `fixture-agent: job ${jobId} joined room ${ctx.room.name} as ${ctx.room.localParticipant.identity}` +
        ` on worker ${ctx.workerId} metadata ${JSON.stringify(metadata)}`,
    );
    // echo-agent's connect() is then a no-op (already connected); it echoes the first microphone it hears. The entry
    // returns when the room disconnects: the job process waits up to 15 s for a running entry before it shuts down.
    const disconnected = new Promise((resolve) => ctx.room.once(RoomEvent.Disconnected, resolve));
    await Promise.race([echoAgent.entry(ctx), disconnected]);
  },
});

function workerOptions() {
  const decline = process.env.AGENT_DECLINE === '1';
  const load = process.env.AGENT_LOAD;
  const maxRetry = process.env.AGENT_MAX_RETRY;
  const jobTypes = { room: JobType.JT_ROOM, publisher: JobType.JT_PUBLISHER, participant: JobType.JT_PARTICIPANT };
  const jobType = jobTypes[process.env.AGENT_JOB_TYPE ?? 'room'];
  if (jobType === undefined) throw new Error(`AGENT_JOB_TYPE must be room, publisher or participant, got ${process.env.AGENT_JOB_TYPE}`);
  return new WorkerOptions({
    agent: fileURLToPath(import.meta.url),
    serverType: jobType,
    requestFunc: async (req) => {
      if (decline) {
        console.log(`fixture-agent: declining job ${req.id}`);
        await req.reject();
        return;
      }
      console.log(`fixture-agent: accepting job ${req.id}`);
      await req.accept();
    },
    ...(load !== undefined ? { loadFunc: async () => Number(load) } : {}),
    ...(maxRetry !== undefined ? { maxRetry: Number(maxRetry) } : {}),
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  cli.runApp(workerOptions());
}
