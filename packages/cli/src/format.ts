// Pure output formatting: aligned text tables for people, JSON (protobuf JSON names, defaults included) for scripts.
import { EgressStatus, IngressInput, IngressState_Status, JobStatus, ParticipantInfo_State, TrackSource, TrackType } from '@livekit/protocol';
import type { AgentDispatch, EgressInfo, IngressInfo, Job, ParticipantInfo, Room, TrackInfo } from '@livekit/protocol';

/** Left-aligned columns separated by two spaces, a header row first; cells are made single-line. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const clean = (cell: string): string => cell.replace(/[\r\n\t]+/g, ' ');
  const all = [headers.map(clean), ...rows.map((r) => headers.map((_, i) => clean(r[i] ?? '')))];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd())
    .join('\n')
    .concat('\n');
}

/** Pretty JSON with a final newline; bigint (protobuf int64) as a decimal string. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;
}

/** What protobuf-es messages offer for JSON output. */
interface JsonMessage {
  toJson(options?: { emitDefaultValues?: boolean }): unknown;
}

/** A protobuf message as JSON with every field present (so scripts need not know proto3 defaults). */
export function messageJson(message: JsonMessage): unknown {
  return message.toJson({ emitDefaultValues: true });
}

/** Seconds since the epoch (int64) as an ISO time, '' for zero. */
export function formatUnixSec(sec: bigint | number): string {
  const n = Number(sec);
  return n > 0 ? new Date(n * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
}

/** Nanoseconds since the epoch (int64, as AgentDispatchState's times) as an ISO time to the second, '' for zero. */
export function formatUnixNs(ns: bigint): string {
  return ns > 0n ? formatUnixSec(ns / 1_000_000_000n) : '';
}

function enumName(e: Record<number, string>, value: number): string {
  return (e[value] ?? String(value)).toLowerCase();
}

export function formatRooms(rooms: readonly Room[]): string {
  if (rooms.length === 0) return 'no rooms\n';
  return formatTable(
    ['SID', 'NAME', 'PARTICIPANTS', 'PUBLISHERS', 'EMPTY-TIMEOUT', 'MAX', 'CREATED', 'METADATA'],
    rooms.map((r) => [
      r.sid,
      r.name,
      String(r.numParticipants),
      String(r.numPublishers),
      r.emptyTimeout > 0 ? `${r.emptyTimeout}s` : '',
      r.maxParticipants > 0 ? String(r.maxParticipants) : '',
      formatUnixSec(r.creationTime),
      r.metadata,
    ]),
  );
}

/** 'TR_x audio microphone muted' style summary of one track. */
export function formatTrackSummary(t: TrackInfo): string {
  const parts = [t.sid, enumName(TrackType, t.type), enumName(TrackSource, t.source)];
  if (t.type === TrackType.VIDEO && t.width > 0) parts.push(`${t.width}x${t.height}`);
  if (t.mimeType !== '') parts.push(t.mimeType);
  if (t.muted) parts.push('muted');
  return parts.join(' ');
}

export function formatParticipants(participants: readonly ParticipantInfo[]): string {
  if (participants.length === 0) return 'no participants\n';
  return formatTable(
    ['SID', 'IDENTITY', 'NAME', 'STATE', 'TRACKS', 'JOINED', 'METADATA'],
    participants.map((p) => [
      p.sid,
      p.identity,
      p.name,
      enumName(ParticipantInfo_State, p.state),
      p.tracks.length === 0 ? '' : p.tracks.map((t) => `${t.sid}(${enumName(TrackType, t.type)}${t.muted ? ',muted' : ''})`).join(' '),
      formatUnixSec(p.joinedAt),
      p.metadata,
    ]),
  );
}

/** Several lines on one participant: fields, permissions, then one line per track. */
export function formatParticipant(p: ParticipantInfo): string {
  const perm = p.permission;
  const lines = [
    `SID:       ${p.sid}`,
    `Identity:  ${p.identity}`,
    `Name:      ${p.name}`,
    `State:     ${enumName(ParticipantInfo_State, p.state)}`,
    `Joined:    ${formatUnixSec(p.joinedAt)}`,
    `Metadata:  ${p.metadata}`,
  ];
  const attrs = Object.entries(p.attributes);
  if (attrs.length > 0) lines.push(`Attributes: ${attrs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (perm) {
    const flags = [
      perm.canPublish ? 'publish' : '',
      perm.canSubscribe ? 'subscribe' : '',
      perm.canPublishData ? 'publish-data' : '',
      perm.hidden ? 'hidden' : '',
      perm.recorder ? 'recorder' : '',
    ].filter((f) => f !== '');
    lines.push(`Permissions: ${flags.length > 0 ? flags.join(' ') : 'none'}`);
  }
  lines.push(`Tracks:    ${p.tracks.length === 0 ? 'none' : ''}`.trimEnd());
  for (const t of p.tracks) lines.push(`  ${formatTrackSummary(t)}${t.name !== '' ? ` '${t.name}'` : ''}`);
  return `${lines.join('\n')}\n`;
}

/** 'AJ_x running AW_y' for one job of a dispatch: its id, status (JS_ prefix dropped) and worker if any. */
export function formatJobSummary(job: Job): string {
  const state = job.state;
  const parts = [job.id, enumName(JobStatus, state?.status ?? JobStatus.JS_PENDING).replace(/^js_/, '')];
  if (state !== undefined && state.workerId !== '') parts.push(state.workerId);
  if (state !== undefined && state.error !== '') parts.push(`error: ${state.error}`);
  return parts.join(' ');
}

/** Agent dispatches as a table (lk's DispatchID, Room, AgentName, Deployment, Metadata columns, plus when and which jobs). */
export function formatDispatches(dispatches: readonly AgentDispatch[]): string {
  if (dispatches.length === 0) return 'no dispatches\n';
  return formatTable(
    ['DISPATCH-ID', 'ROOM', 'AGENT-NAME', 'DEPLOYMENT', 'METADATA', 'CREATED', 'JOBS'],
    dispatches.map((d) => [
      d.id,
      d.room,
      d.agentName,
      d.deployment,
      d.metadata,
      formatUnixNs(d.state?.createdAt ?? 0n),
      (d.state?.jobs ?? []).map(formatJobSummary).join(', '),
    ]),
  );
}

/** lk's egress type and source columns: 'track_composite', 'room/TR_a,TR_b'. */
export function egressSource(info: EgressInfo): { type: string; source: string } {
  const r = info.request;
  switch (r.case) {
    case 'roomComposite':
      return { type: 'room_composite', source: r.value.roomName };
    case 'web':
      return { type: 'web', source: r.value.url };
    case 'participant':
      return { type: 'participant', source: `${r.value.roomName}/${r.value.identity}` };
    case 'trackComposite':
      return { type: 'track_composite', source: `${r.value.roomName}/${[r.value.videoTrackId, r.value.audioTrackId].filter((t) => t !== '').join(',')}` };
    case 'track':
      return { type: 'track', source: `${r.value.roomName}/${r.value.trackId}` };
    default:
      return { type: r.case ?? '', source: info.roomName };
  }
}

/** 'EGRESS_ACTIVE' -> 'active'. */
function egressStatus(status: EgressStatus): string {
  return enumName(EgressStatus, status).replace(/^egress_/, '');
}

/** Where an egress writes: file locations, playlists, stream URLs, image prefixes. */
export function egressOutputs(info: EgressInfo): string[] {
  return [
    ...info.fileResults.map((f) => f.location || f.filename),
    ...info.segmentResults.map((s) => s.playlistLocation || s.playlistName),
    ...info.streamResults.map((s) => s.url),
    ...info.imageResults.map((i) => i.filenamePrefix),
  ].filter((o) => o !== '');
}

export function formatEgresses(items: readonly EgressInfo[]): string {
  if (items.length === 0) return 'no egresses\n';
  return formatTable(
    ['EGRESS-ID', 'STATUS', 'TYPE', 'SOURCE', 'STARTED', 'OUTPUTS', 'ERROR'],
    items.map((e) => {
      const { type, source } = egressSource(e);
      return [e.egressId, egressStatus(e.status), type, source, formatUnixNs(e.startedAt), egressOutputs(e).join(' '), e.error];
    }),
  );
}

/** One egress, several lines: what `egress start` / `stop` answer. */
export function formatEgressInfo(e: EgressInfo): string {
  const { type, source } = egressSource(e);
  const lines = [`EgressID: ${e.egressId}`, `Status:   ${egressStatus(e.status)}`, `Type:     ${type}`, `Source:   ${source}`];
  for (const o of egressOutputs(e)) lines.push(`Output:   ${o}`);
  if (e.details !== '') lines.push(`Details:  ${e.details}`);
  if (e.error !== '') lines.push(`Error:    ${e.error}`);
  return `${lines.join('\n')}\n`;
}

function ingressStatus(info: IngressInfo): string {
  return info.state ? enumName(IngressState_Status, info.state.status).replace(/^endpoint_/, '') : '';
}

export function formatIngresses(items: readonly IngressInfo[]): string {
  if (items.length === 0) return 'no ingresses\n';
  return formatTable(
    ['INGRESS-ID', 'INPUT', 'NAME', 'ROOM', 'IDENTITY', 'STATUS', 'URL', 'STREAM-KEY', 'ERROR'],
    items.map((i) => [
      i.ingressId,
      enumName(IngressInput, i.inputType).replace(/_input$/, ''),
      i.name,
      i.roomName,
      i.participantIdentity,
      ingressStatus(i),
      i.url,
      i.streamKey,
      i.state?.error ?? '',
    ]),
  );
}

/** One ingress: its id and state, and the URL and stream key to give the encoder (OBS, a WHIP client). */
export function formatIngressInfo(i: IngressInfo): string {
  const lines = [
    `IngressID:  ${i.ingressId}`,
    `Input:      ${enumName(IngressInput, i.inputType).replace(/_input$/, '')}`,
    `Room:       ${i.roomName}`,
    `Identity:   ${i.participantIdentity}`,
    `Status:     ${ingressStatus(i)}`,
    `URL:        ${i.url}`,
  ];
  if (i.streamKey !== '') lines.push(`Stream key: ${i.streamKey}`);
  if (i.state !== undefined && i.state.error !== '') lines.push(`Error:      ${i.state.error}`);
  return `${lines.join('\n')}\n`;
}
