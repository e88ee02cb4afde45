// Uploads an egress output (file, segment, playlist, image) to S3 or an S3-compatible store with @aws-sdk/client-s3,
// from a request's S3Upload (or `egress.s3`). One client per egress output; the location in results is the object's
// URL: `<endpoint>/<bucket>/<key>` with force_path_style, `https://<bucket>.s3.<region>.amazonaws.com/<key>` on AWS.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3Upload } from '@livekit/protocol';

const CONTENT_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4', '.webm': 'video/webm', '.ogg': 'audio/ogg', '.ts': 'video/mp2t', '.m3u8': 'application/x-mpegurl',
  '.jpeg': 'image/jpeg', '.jpg': 'image/jpeg', '.json': 'application/json',
};

export function contentTypeFor(key: string): string {
  const dot = key.lastIndexOf('.');
  return (dot >= 0 ? CONTENT_TYPES[key.slice(dot).toLowerCase()] : undefined) ?? 'application/octet-stream';
}

/** The URL of `key` in the upload's bucket (EgressInfo locations). */
export function s3Location(u: S3Upload, key: string): string {
  const encoded = key.split('/').map(encodeURIComponent).join('/');
  if (u.endpoint !== '') {
    const base = u.endpoint.replace(/\/+$/, '');
    if (u.forcePathStyle) return `${base}/${u.bucket}/${encoded}`;
    const url = new URL(base);
    return `${url.protocol}//${u.bucket}.${url.host}/${encoded}`;
  }
  return `https://${u.bucket}.s3.${u.region || 'us-east-1'}.amazonaws.com/${encoded}`;
}

/** What a request's S3Upload must have before anything starts. */
export function checkS3Upload(u: S3Upload): string | undefined {
  if (u.bucket === '') return 's3 upload needs a bucket';
  if (u.assumeRoleArn !== '') return 's3 assume_role_arn is not supported';
  if (u.proxy !== undefined) return 's3 proxy is not supported';
  if (u.endpoint !== '') {
    try {
      const url = new URL(u.endpoint);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return 's3 endpoint must be http(s)://';
    } catch {
      return 's3 endpoint is not a URL';
    }
  }
  return undefined;
}

export class S3Uploader {
  private readonly client: S3Client;
  private readonly upload: S3Upload;

  constructor(upload: S3Upload) {
    this.upload = upload;
    this.client = new S3Client({
      region: upload.region || 'us-east-1',
      forcePathStyle: upload.forcePathStyle,
      ...(upload.endpoint !== '' ? { endpoint: upload.endpoint } : {}),
      ...(upload.accessKey !== ''
        ? { credentials: { accessKeyId: upload.accessKey, secretAccessKey: upload.secret, ...(upload.sessionToken !== '' ? { sessionToken: upload.sessionToken } : {}) } }
        : {}),
      maxAttempts: 3,
      // checksums only where S3 requires them: the default (a CRC32 trailer in an aws-chunked body) is stored as
      // is, framing included, by S3-compatible servers that do not know it (s3rver, older MinIO)
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Puts the local file at `key`; resolves to its location, rejects with the store's error. */
  async put(localPath: string, key: string): Promise<string> {
    const { size } = await stat(localPath);
    await this.client.send(new PutObjectCommand({
      Bucket: this.upload.bucket,
      Key: key,
      Body: createReadStream(localPath),
      ContentLength: size,
      ContentType: contentTypeFor(key),
      ...(Object.keys(this.upload.metadata).length > 0 ? { Metadata: this.upload.metadata } : {}),
      ...(this.upload.tagging !== '' ? { Tagging: this.upload.tagging } : {}),
      ...(this.upload.contentDisposition !== '' ? { ContentDisposition: this.upload.contentDisposition } : {}),
    }));
    return s3Location(this.upload, key);
  }

  close(): void {
    this.client.destroy();
  }
}
