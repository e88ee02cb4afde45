// A configuration that cannot start the server: every problem found, each naming the livekit.yaml key.

export interface ConfigIssue {
  /** Dotted livekit.yaml key ('rtc.udp_port'), or the flag/variable ('--keys', 'LIVEKIT_KEYS'). */
  key: string;
  message: string;
}

export class ConfigError extends Error {
  readonly code = 'config_invalid';
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map((i) => `config: ${i.key}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
