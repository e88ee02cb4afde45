// The `join_request` query parameter of a v1 `/rtc/v1` connection (docs/signal-v1.md, docs/livekit-protocol.md 1.4):
// base64url of a WrappedJoinRequest {compression NONE | GZIP, join_request bytes} holding a JoinRequest protobuf.
import { gunzipSync } from 'node:zlib';
import { JoinRequest, WrappedJoinRequest, WrappedJoinRequest_Compression } from '@livekit/protocol';
import { ConnectParamsError } from './connect-params.js';

/** As LiveKit (http.DefaultMaxHeaderBytes): a decompressed JoinRequest larger than this is refused. */
export const MAX_JOIN_REQUEST_BYTES = 1024 * 1024;

/** base64url with or without `=` padding (livekit-client keeps it; Go's URLEncoding wants it; we take both). */
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Decodes `join_request`; throws ConnectParamsError (a 400 naming what is wrong) for anything it cannot read. */
export function parseJoinRequestParam(value: string): JoinRequest {
  if (value === '') throw new ConnectParamsError('join_request is empty');
  if (!BASE64URL.test(value) || value.replace(/=+$/, '').length % 4 === 1) {
    throw new ConnectParamsError('join_request is not base64url');
  }
  const wrappedBytes = Buffer.from(value, 'base64url');
  let wrapped: WrappedJoinRequest;
  try {
    wrapped = WrappedJoinRequest.fromBinary(wrappedBytes);
  } catch (err) {
    throw new ConnectParamsError(`join_request is not a WrappedJoinRequest: ${(err as Error).message}`);
  }
  let bytes: Uint8Array;
  switch (wrapped.compression) {
    case WrappedJoinRequest_Compression.NONE:
      bytes = wrapped.joinRequest;
      break;
    case WrappedJoinRequest_Compression.GZIP:
      try {
        bytes = gunzipSync(wrapped.joinRequest, { maxOutputLength: MAX_JOIN_REQUEST_BYTES });
      } catch (err) {
        const code = (err as { code?: string }).code;
        throw new ConnectParamsError(
          code === 'ERR_BUFFER_TOO_LARGE'
            ? `join_request is larger than ${MAX_JOIN_REQUEST_BYTES} bytes once decompressed`
            : 'join_request says GZIP but does not decompress',
        );
      }
      break;
    default:
      throw new ConnectParamsError(`join_request compression ${wrapped.compression} is not supported (NONE or GZIP)`);
  }
  if (bytes.length > MAX_JOIN_REQUEST_BYTES) throw new ConnectParamsError(`join_request is larger than ${MAX_JOIN_REQUEST_BYTES} bytes`);
  try {
    return JoinRequest.fromBinary(bytes);
  } catch (err) {
    throw new ConnectParamsError(`join_request does not hold a JoinRequest: ${(err as Error).message}`);
  }
}
