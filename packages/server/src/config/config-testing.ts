// For the config tests: the issues a config is refused with, as `key: message` lines. A config that loads fails the
// test (the caller expected a refusal).
import assert from 'node:assert/strict';
import { ConfigError } from './config-error.js';
import { loadConfig } from './load-config.js';
import type { ConfigSources } from './load-config.js';

export function configIssues(sources: ConfigSources): string[] {
  try {
    loadConfig(sources);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.key}: ${i.message}`);
  }
  assert.fail('expected a ConfigError');
}
