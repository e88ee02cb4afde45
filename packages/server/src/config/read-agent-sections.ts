// Readers for the agent settings of livekit.yaml: `limit.agent_signal_message_size_limit` and the `agents:` section
// (LiveKit's pkg/config LimitConfig and pkg/agent Config), each problem reported with its key.
import type { YamlMap, YamlReader } from './yaml-reader.js';

export const LIMIT_KEYS = ['agent_signal_message_size_limit'] as const;
export const AGENTS_KEYS = ['enable_user_data_recording', 'enable_user_data_redaction', 'target_load'] as const;

/** The largest size the WebSocket library takes (it reads the limit as a signed 32-bit integer). */
export const MAX_MESSAGE_SIZE_LIMIT = 2 ** 31 - 1;

export interface LimitSection {
  /** Bytes; undefined when the file does not set it. */
  agentSignalMessageSizeLimit: number | undefined;
}

export function readLimit(r: YamlReader, top: YamlMap): LimitSection {
  const m = r.map(top['limit'], 'limit', LIMIT_KEYS);
  return { agentSignalMessageSizeLimit: r.int(m, 'limit', 'agent_signal_message_size_limit', 0, MAX_MESSAGE_SIZE_LIMIT) };
}

/** `agents:` as read; none of it is honoured yet (unsupported-settings.ts refuses what would change behaviour). */
export interface AgentsSection {
  enableUserDataRecording: boolean;
  enableUserDataRedaction: boolean;
  /** undefined when not set. */
  targetLoad: number | undefined;
}

export function readAgents(r: YamlReader, top: YamlMap): AgentsSection {
  const m = r.map(top['agents'], 'agents', AGENTS_KEYS);
  const load = m?.['target_load'];
  let targetLoad: number | undefined;
  if (load !== undefined && load !== null) {
    if (typeof load !== 'number' || !Number.isFinite(load)) r.fail('agents.target_load', `must be a number, got ${JSON.stringify(load)}`);
    else if (load < 0 || load > 1) r.fail('agents.target_load', `must be between 0 and 1 (a worker load), got ${load}`);
    else targetLoad = load;
  }
  return {
    enableUserDataRecording: r.bool(m, 'agents', 'enable_user_data_recording') ?? false,
    enableUserDataRedaction: r.bool(m, 'agents', 'enable_user_data_redaction') ?? false,
    targetLoad,
  };
}
