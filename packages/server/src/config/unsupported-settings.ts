// livekit.yaml settings Atrium accepts but does not honour yet: set to anything but their default, they stop
// start-up ("... is not supported yet") instead of being silently ignored. Remove an entry when its feature lands.
import type { ConfigIssue } from './config-error.js';
import type { ServerConfig } from './server-config.js';
import type { AgentsSection } from './read-agent-sections.js';

/** Settings read from the file that have no ServerConfig field (their features do not exist). */
export interface FileOnlySettings {
  portRangeStart: number;
  portRangeEnd: number;
  useExternalIp: boolean;
  /** audio.enable_loss_proxying: the weakest subscriber's loss in receiver reports to the publisher. */
  enableLossProxying: boolean;
  /** The `agents:` section (LiveKit's pkg/agent Config). */
  agents: AgentsSection;
}

export function unhonouredSettings(config: ServerConfig, file: FileOnlySettings): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const no = (key: string, why: string): void => void out.push({ key, message: `is not supported yet: ${why}` });
  if (file.portRangeStart !== 0) no('rtc.port_range_start', 'Atrium serves media on rtc.udp_port, one port per media worker (udp_port + i)');
  if (file.portRangeEnd !== 0) no('rtc.port_range_end', 'Atrium serves media on rtc.udp_port, one port per media worker (udp_port + i)');
  if (file.useExternalIp) no('rtc.use_external_ip', 'set rtc.node_ip to the public address instead');
  if (file.enableLossProxying) no('audio.enable_loss_proxying', 'receiver reports to publishers carry our own loss only; remove it or set false');
  if (file.agents.targetLoad !== undefined) {
    no('agents.target_load', 'a job goes to any available worker with load below 1 (LiveKit takes jobs only while a worker is below target_load, 0.7 by default); remove it');
  }
  if (config.redis !== null) no('redis', 'Atrium runs as a single node; remove the redis section');
  return out;
}
