// DTLS 1.2 transport for WebRTC (RFC 6347, RFC 5764 use_srtp, RFC 8827/8842 fingerprints), a seam over werift-dtls.
//
// README — what comes from where:
// - werift-dtls (MIT): the handshake state machine and flights, record layer, AES-128-GCM record
//   cipher (TLS_ECDHE_ECDSA/RSA_WITH_AES_128_GCM_SHA256), ECDHE (P-256, X25519), extended master
//   secret, use_srtp negotiation (the server's order wins), RFC 5705 exporter, flight retransmission.
// - ours: this API and state machine; the certificate (certificate.ts); remote fingerprint checks
//   (mismatch, no certificate, or a late fingerprint that does not match → 'failed'); the client-role
//   check of the ServerKeyExchange signature and the server-role check of the client's CertificateVerify
//   (werift checks neither, so a peer could otherwise present someone else's certificate); resending
//   our final flight when the peer retransmits a packed flight 5 (werift ignores it); dropping stray
//   ClientHellos after the handshake (werift would restart); failing on a plaintext fatal alert
//   (werift swallows it); the handshake timeout on the injected clock; never-throw input handling;
//   close_notify; holding application data until the peer's fingerprint is verified.
// Known werift limits: neither side checks the peer's Finished (EMS still binds the keys to the
//   transcript up to ClientKeyExchange, so tampering breaks the session rather than hijacking it);
//   its retransmission timers use the real clock and cannot be cancelled (close() makes them stop at
//   their next tick, at most ~5 s later); it allocates per record (fine: DTLS carries only SCTP here).
// werift-dtls's package.json "main" points at a file it does not ship, so we import its entry directly.
import werift from 'werift-dtls/lib/dtls/src/index.js';
import type { DtlsSocket } from 'werift-dtls/lib/dtls/src/index.js';
import { createPlaintext } from 'werift-dtls/lib/dtls/src/record/builder.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { silentLogger, type Logger } from '../logger.js';
import { TypedEmitter } from '../typed-emitter.js';
import { fingerprintMatches, type DtlsCertificate } from './certificate.js';
import { verifyCertificateVerify } from './certificate-verify.js';
import { verifyServerKeyExchange } from './server-key-exchange.js';

/** DTLS record header: type, version, epoch, 48-bit sequence number, length (RFC 6347 §4.1). */
const recordHeaderLength = 13;

export type DtlsRole = 'client' | 'server';
export type DtlsState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';

export const SrtpProtectionProfile = {
  AES128_CM_HMAC_SHA1_80: 0x0001,
  AES128_CM_HMAC_SHA1_32: 0x0002,
  AEAD_AES_128_GCM: 0x0007,
  AEAD_AES_256_GCM: 0x0008,
} as const;

export interface DtlsTransportOptions {
  role: DtlsRole;
  certificate: DtlsCertificate;
  remoteFingerprint?: { algorithm: string; value: string };
  srtpProfiles: number[];
  send: (buf: Buffer) => void;
  logger?: Logger;
  clock?: Clock;
  handshakeTimeoutMs?: number;
}

const defaultHandshakeTimeoutMs = 30_000;
const maxPendingDatagrams = 64;
const contentTypeAlert = 21;
const contentTypeHandshake = 22;
const handshakeTypeClientHello = 1;
const handshakeTypeHelloVerifyRequest = 3;
const minResendIntervalMs = 250;
const handshakeTypeCertificate = 11;
const handshakeTypeServerKeyExchange = 12;
const handshakeTypeCertificateVerify = 15;
const noAddress = ['', 0] as const;

/** The minimal transport werift-dtls writes to and reads from. */
interface WeriftTransport {
  type: string;
  address: never;
  closed: boolean;
  onData: (data: Buffer, addr: readonly [string, number]) => void;
  send: (data: Buffer) => Promise<void>;
  close: () => Promise<void>;
}

interface AssembledHandshake {
  msg_type: number;
  fragment: Buffer;
  serialize(): Buffer;
}

export class DtlsTransport extends TypedEmitter<{ stateChange: [DtlsState]; data: [Buffer]; error: [Error] }> {
  private _state: DtlsState = 'new';
  private _srtpProfile: number | undefined;
  private remoteFingerprint: { algorithm: string; value: string } | undefined;
  private readonly socket: DtlsSocket;
  private readonly wire: WeriftTransport;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly handshakeTimeoutMs: number;
  private handshakeTimer: TimerHandle | undefined;
  private isHandshakeDone = false; // werift says the handshake finished; fingerprint may still be pending
  private pendingData: Buffer[] = [];
  private serverCertDer: Buffer | undefined;
  private serverKeyExchange: Buffer | undefined;
  private lastResendMs = -Infinity;
  /** Datagrams dropped because they could not be parsed or arrived in the wrong state. */
  droppedDatagrams = 0;
  /** Client role: a HelloVerifyRequest went to werift already (later ones are dropped). */
  private hasSeenHelloVerify = false;

  readonly role: DtlsRole;
  private readonly sendDatagram: (buf: Buffer) => void;

  constructor(opts: DtlsTransportOptions) {
    super();
    this.role = opts.role;
    this.log = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? systemClock;
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? defaultHandshakeTimeoutMs;
    this.remoteFingerprint = opts.remoteFingerprint;
    this.sendDatagram = opts.send;
    this.wire = {
      type: 'atrium',
      address: undefined as never,
      closed: false,
      onData: () => {},
      send: (buf) => {
        this.writeOut(buf);
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    };
    const options = {
      transport: this.wire,
      srtpProfiles: opts.srtpProfiles as never[],
      cert: opts.certificate.certPem,
      key: opts.certificate.keyPem,
      signatureHash: { hash: 4 as const, signature: 3 as const }, // sha256 + ecdsa
      certificateRequest: true, // WebRTC authenticates both sides by certificate fingerprint
      extendedMasterSecret: true,
    };
    this.socket = opts.role === 'client' ? new werift.DtlsClient(options) : new werift.DtlsServer(options);
    this.socket.onConnect.subscribe(() => this.onHandshakeDone());
    this.socket.onData.subscribe((buf) => this.onAppData(buf));
    this.socket.onClose.subscribe(() => this.onPeerClosed());
    this.socket.onError.subscribe((err) => this.onWeriftError(err));
    // Look at the server's Certificate and ServerKeyExchange before werift consumes them.
    const handleHandshakes = this.socket.onHandleHandshakes;
    this.socket.onHandleHandshakes = (assembled) => {
      if (this.role === 'client') this.captureServerAuth(assembled as unknown as AssembledHandshake[]);
      return handleHandshakes(assembled);
    };
  }

  get state(): DtlsState {
    return this._state;
  }

  get srtpProfile(): number | undefined {
    return this._srtpProfile;
  }

  /** The peer's certificate (DER) once the handshake finished. */
  get remoteCertificate(): Buffer | undefined {
    return this.socket.remoteCertificate;
  }

  setRemoteFingerprint(fp: { algorithm: string; value: string }): void {
    this.remoteFingerprint = fp;
    if (this.isHandshakeDone && this._state === 'connecting') this.finishConnect();
  }

  start(): void {
    if (this._state !== 'new') return;
    this.enterConnecting();
    if (this.role === 'client') {
      (this.socket as InstanceType<typeof werift.DtlsClient>).connect().catch((err: unknown) => {
        this.fail(err instanceof Error ? err : new Error(String(err)));
      });
    }
  }

  handle(buf: Buffer): void {
    if (this._state === 'closed' || this._state === 'failed') {
      this.droppedDatagrams++;
      return;
    }
    // A DTLS record header is 13 bytes; content types 20..63 (RFC 7983 demux range for DTLS).
    if (buf.length < 13 || buf[0]! < 20 || buf[0]! > 63) {
      this.droppedDatagrams++;
      return;
    }
    if (this._state === 'new') {
      if (this.role === 'client') {
        this.droppedDatagrams++;
        return;
      }
      this.enterConnecting(); // a server answers a ClientHello that arrives before start()
    }
    if (buf[0] === contentTypeAlert && buf.readUInt16BE(3) === 0 && buf.length >= 15 && buf[13] === 2) {
      // A plaintext fatal alert (werift swallows these): the peer gave up on the handshake.
      return this.fail(dtlsError('DTLS_ALERT', `peer sent fatal alert ${buf[14]}`));
    }
    if (this.role === 'client' && buf[0] === contentTypeHandshake && buf.readUInt16BE(3) === 0 && buf[13] === handshakeTypeHelloVerifyRequest) {
      // RFC 6347 §4.2.1: a server answers every ClientHello without a cookie with a HelloVerifyRequest, so a client
      // whose ClientHello was retransmitted (a slow peer) can get two. werift's client throws on the second and the
      // handshake fails; its own timer resends the ClientHello with the cookie, so later ones are dropped here.
      if (this.hasSeenHelloVerify) {
        this.droppedDatagrams++;
        return;
      }
      this.hasSeenHelloVerify = true;
    }
    if (this.isHandshakeDone && buf[0] === contentTypeHandshake && buf.readUInt16BE(3) === 0) {
      // An epoch-0 handshake record after we finished. werift would restart on a ClientHello and ignore
      // a retransmitted client flight 5, so: drop the first, and answer the second with our last flight.
      if (this.role === 'server' && buf[13] !== handshakeTypeClientHello) this.resendLastFlight();
      else this.droppedDatagrams++;
      return;
    }
    try {
      this.wire.onData(buf, noAddress);
    } catch (err) {
      this.droppedDatagrams++;
      this.log.debug({ err }, 'dtls: dropped datagram');
    }
  }

  exportKeyingMaterial(label: string, length: number): Buffer {
    if (this._state !== 'connected') throw dtlsError('DTLS_NOT_CONNECTED', 'exportKeyingMaterial before connected');
    return this.socket.exportKeyingMaterial(label, length);
  }

  sendData(buf: Buffer): void {
    if (this._state !== 'connected') throw dtlsError('DTLS_NOT_CONNECTED', `sendData in state ${this._state}`);
    this.socket.send(buf).catch((err: unknown) => this.log.debug({ err }, 'dtls: send failed'));
  }

  close(): void {
    if (this._state === 'closed') return;
    if (this._state === 'connected') this.sendAlert(1, 0); // warning, close_notify
    this.shutdown();
    this.setState('closed');
  }

  // --- internals -------------------------------------------------------------------------------

  private writeOut(buf: Buffer): void {
    if (this._state === 'closed' || this._state === 'failed') return;
    try {
      this.sendDatagram(buf);
    } catch (err) {
      this.log.debug({ err }, 'dtls: send callback threw');
    }
  }

  private enterConnecting(): void {
    this.setState('connecting');
    this.handshakeTimer = this.clock.setTimeout(() => {
      this.handshakeTimer = undefined;
      if (this._state === 'connecting') this.fail(dtlsError('DTLS_TIMEOUT', 'DTLS handshake timed out'));
    }, this.handshakeTimeoutMs);
  }

  private onHandshakeDone(): void {
    if (this._state !== 'connecting') return;
    this.isHandshakeDone = true;
    this.skipPastFinishedRecord();
    if (this.remoteFingerprint) this.finishConnect();
    else this.log.debug('dtls: handshake done, waiting for the remote fingerprint');
  }

  private finishConnect(): void {
    const fp = this.remoteFingerprint;
    const cert = this.socket.remoteCertificate;
    if (!fp) return;
    if (!cert) return this.fail(dtlsError('DTLS_NO_CERTIFICATE', 'peer sent no certificate'));
    if (!fingerprintMatches(cert, fp)) {
      return this.fail(dtlsError('DTLS_FINGERPRINT_MISMATCH', 'remote certificate does not match the fingerprint'));
    }
    if (this.role === 'client' && !this.checkServerKeyExchange(cert)) {
      return this.fail(dtlsError('DTLS_BAD_SIGNATURE', 'ServerKeyExchange signature does not verify'));
    }
    if (this.role === 'server' && !this.checkCertificateVerify(cert)) {
      return this.fail(dtlsError('DTLS_BAD_SIGNATURE', 'CertificateVerify signature does not verify'));
    }
    this._srtpProfile = this.socket.srtp.srtpProfile;
    this.clearHandshakeTimer();
    this.setState('connected');
    const pending = this.pendingData;
    this.pendingData = [];
    for (const buf of pending) {
      if (this._state !== 'connected') break;
      this.emit('data', buf);
    }
  }

  private onAppData(buf: Buffer): void {
    if (this._state === 'connected') {
      this.emit('data', buf);
    } else if (this.isHandshakeDone && this._state === 'connecting' && this.pendingData.length < maxPendingDatagrams) {
      this.pendingData.push(buf);
    } else {
      this.droppedDatagrams++;
    }
  }

  private onPeerClosed(): void {
    if (this._state === 'closed' || this._state === 'failed') return;
    this.log.debug('dtls: peer sent an alert, closing');
    this.shutdown();
    this.setState('closed');
  }

  private onWeriftError(err: Error): void {
    if (this._state === 'connecting') this.fail(err instanceof Error ? err : new Error(String(err)));
    else this.log.debug({ err }, 'dtls: error after handshake');
  }

  private fail(err: Error): void {
    if (this._state === 'closed' || this._state === 'failed') return;
    this.log.warn({ err: err.message }, 'dtls: failed');
    this.shutdown();
    this.setState('failed');
    this.emit('error', err);
  }

  private shutdown(): void {
    this.clearHandshakeTimer();
    this.pendingData = [];
    this.wire.closed = true;
    // Make werift's pending flight retransmission loops stop at their next tick.
    this.socket.dtls.flight = 1_000;
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== undefined) this.clock.clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  private setState(state: DtlsState): void {
    if (this._state === state) return;
    this._state = state;
    this.emit('stateChange', state);
  }

  /**
   * werift numbers our Finished record (epoch 1) by continuing the epoch-0 count, then resets the counter, so
   * one later application-data record would reuse the Finished's (epoch, sequence number) and the peer's
   * anti-replay check (RFC 6347 §4.1.2.6) would silently drop it: a lost packet for reliable SCTP, a lost
   * message on an unreliable channel. Continue numbering after the highest epoch-1 record we sent.
   */
  private skipPastFinishedRecord(): void {
    const dtls = this.socket.dtls as unknown as { recordSequenceNumber: number; epoch: number; lastMessage?: Buffer[] };
    let highest = -1;
    for (const datagram of dtls.lastMessage ?? []) {
      for (let off = 0; off + recordHeaderLength <= datagram.length; ) {
        const epoch = datagram.readUInt16BE(off + 3);
        const seq = datagram.readUIntBE(off + 5, 6);
        if (epoch === dtls.epoch && seq > highest) highest = seq;
        off += recordHeaderLength + datagram.readUInt16BE(off + 11);
      }
    }
    if (highest >= dtls.recordSequenceNumber) dtls.recordSequenceNumber = highest;
  }

  /** RFC 6347 §4.2.4: the peer did not get our final flight (ChangeCipherSpec + Finished); send it again. */
  private resendLastFlight(): void {
    const now = this.clock.nowMs();
    if (now - this.lastResendMs < minResendIntervalMs) return;
    this.lastResendMs = now;
    const last = (this.socket.dtls as unknown as { lastMessage?: Buffer[] }).lastMessage;
    this.log.debug('dtls: peer retransmitted its last flight, resending ours');
    for (const buf of last ?? []) this.writeOut(buf);
  }

  private sendAlert(level: number, description: number): void {
    try {
      const dtls = this.socket.dtls;
      const [pkt] = createPlaintext(dtls)(
        [{ type: contentTypeAlert, fragment: Buffer.from([level, description]) }],
        ++dtls.recordSequenceNumber,
      );
      if (pkt) this.writeOut(this.socket.cipher.encryptPacket(pkt).serialize());
    } catch (err) {
      this.log.debug({ err }, 'dtls: could not send alert');
    }
  }

  private captureServerAuth(assembled: AssembledHandshake[]): void {
    for (const h of assembled) {
      if (h.msg_type === handshakeTypeCertificate && !this.serverCertDer) {
        // certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>; we keep the first (end-entity) one.
        const f = h.fragment;
        if (f.length >= 6) {
          const len = f.readUIntBE(3, 3);
          if (6 + len <= f.length) this.serverCertDer = Buffer.from(f.subarray(6, 6 + len));
        }
      } else if (h.msg_type === handshakeTypeServerKeyExchange && !this.serverKeyExchange) {
        this.serverKeyExchange = Buffer.from(h.fragment);
      }
    }
  }

  /** The transcript is werift's handshake cache (the one its Finished is computed over) up to the CertificateVerify. */
  private checkCertificateVerify(certDer: Buffer): boolean {
    const cache = this.socket.dtls.sortedHandshakeCache as unknown as AssembledHandshake[];
    const index = cache.findIndex((h) => h.msg_type === handshakeTypeCertificateVerify);
    const cv = cache[index];
    if (!cv) return false;
    const transcript = Buffer.concat(cache.slice(0, index).map((h) => h.serialize()));
    return verifyCertificateVerify({ body: cv.fragment, certDer, transcript });
  }

  private checkServerKeyExchange(certDer: Buffer): boolean {
    const body = this.serverKeyExchange;
    if (!body || !this.serverCertDer || !this.serverCertDer.equals(certDer)) return false;
    const clientRandom = this.socket.cipher.localRandom.serialize();
    const serverRandom = this.socket.cipher.remoteRandom.serialize();
    return verifyServerKeyExchange({ body, certDer, clientRandom, serverRandom });
  }
}

export function dtlsError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}
