// A throwaway certificate authority for TLS tests: openssl makes a CA and a server certificate it signs (for
// `localhost` and 127.0.0.1), and certutil (libnss3-tools) puts the CA into an NSS database under a temporary HOME,
// which is where Chromium on Linux looks for trusted roots. Nothing of the machine's own trust store is touched.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCa {
  dir: string;
  caCertFile: string;
  certFile: string;
  keyFile: string;
  /** A HOME with an NSS database ~/.pki/nssdb (for Chromium), when made with `nssHome`; it trusts the CA with `trustCa`. */
  home: string | undefined;
  remove(): void;
}

/** Makes the CA and a server certificate for `dnsName` and `ip`; with `nssHome` also the NSS database. */
export async function createTestCa(opts: { dnsName: string; ip: string; nssHome: boolean; trustCa?: boolean }): Promise<TestCa> {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-test-ca-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const p = (name: string): string => join(dir, name);
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=Atrium test CA', '-keyout', p('ca.key'), '-out', p('ca.pem'),
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-subj', `/CN=${opts.dnsName}`, '-keyout', p('server.key'), '-out', p('server.csr')]);
    writeFileSync(p('server.ext'), [
      `subjectAltName=DNS:${opts.dnsName},IP:${opts.ip}`,
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
    ].join('\n') + '\n');
    await run('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
      '-days', '2', '-out', p('server.pem'), '-extfile', p('server.ext')]);
    let home: string | undefined;
    if (opts.nssHome) {
      home = p('home');
      const db = join(home, '.pki', 'nssdb');
      mkdirSync(db, { recursive: true });
      await run('certutil', ['-N', '-d', `sql:${db}`, '--empty-password']);
      if (opts.trustCa ?? true) await run('certutil', ['-A', '-d', `sql:${db}`, '-n', 'atrium-test-ca', '-t', 'C,,', '-i', p('ca.pem')]);
    }
    return { dir, caCertFile: p('ca.pem'), certFile: p('server.pem'), keyFile: p('server.key'), home, remove };
  } catch (err) {
    remove();
    throw err;
  }
}
