import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './load-config.js';
import { configIssues } from './config-testing.js';
import { DEFAULT_EGRESS_FILE_BASE_DIR } from './server-config.js';

const issuesOf = (yaml: string): string[] => configIssues({ yaml, dev: true });

test('egress: defaults, the file keys, and flags over the file', () => {
  assert.deepEqual(loadConfig({ yaml: '', dev: true }).egress, { fileBaseDir: DEFAULT_EGRESS_FILE_BASE_DIR, ffmpegPath: 'ffmpeg' });
  const c = loadConfig({ yaml: 'egress:\n  file_base_dir: /var/rec\n  ffmpeg_path: /opt/ffmpeg\n', dev: true });
  assert.deepEqual(c.egress, { fileBaseDir: '/var/rec', ffmpegPath: '/opt/ffmpeg' });
  const f = loadConfig({ yaml: 'egress:\n  file_base_dir: /var/rec\n', dev: true, flags: { egress: { fileBaseDir: '/tmp/x' } } });
  assert.equal(f.egress.fileBaseDir, '/tmp/x');
});

test('egress: unknown keys and bad values are refused by name', () => {
  assert.deepEqual(issuesOf('egress:\n  file_dir: /x\n'), ['egress.file_dir: unknown key']);
  assert.match(issuesOf('egress:\n  file_base_dir: ""\n')[0] ?? '', /^egress\.file_base_dir: must not be empty/);
  assert.match(issuesOf('egress:\n  ffmpeg_path: 3\n')[0] ?? '', /^egress\.ffmpeg_path: /);
});

test('egress.s3: LiveKit egress storage keys, the default upload; unknown keys and a missing bucket refused', () => {
  const c = loadConfig({ yaml: 'egress:\n  s3:\n    access_key: AK\n    secret: SK\n    region: eu-west-1\n    endpoint: http://127.0.0.1:9000\n    bucket: rec\n    force_path_style: true\n', dev: true });
  assert.deepEqual(c.egress.s3, { accessKey: 'AK', secret: 'SK', sessionToken: '', region: 'eu-west-1', endpoint: 'http://127.0.0.1:9000', bucket: 'rec', forcePathStyle: true });
  assert.deepEqual(issuesOf('egress:\n  s3:\n    bucket: b\n    acl: x\n'), ['egress.s3.acl: unknown key']);
  assert.match(issuesOf('egress:\n  s3:\n    region: r\n')[0] ?? '', /^egress\.s3\.bucket: is required/);
  assert.match(issuesOf('egress:\n  s3:\n    bucket: b\n    endpoint: ftp://x\n')[0] ?? '', /^egress\.s3\.endpoint: must be an http/);
});
