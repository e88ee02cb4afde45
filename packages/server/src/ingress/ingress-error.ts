// Errors of the ingress layer. Their codes are Twirp's names, so the API edge (api/ingress-service.ts) passes them
// on as they are, and the WHIP edge (whip-routes.ts) maps them to HTTP statuses.
export type IngressErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'unimplemented'
  | 'failed_precondition'
  | 'resource_exhausted'
  | 'permission_denied'
  | 'already_exists'
  | 'unavailable';

export class IngressError extends Error {
  readonly code: IngressErrorCode;
  constructor(code: IngressErrorCode, message: string) {
    super(message);
    this.name = 'IngressError';
    this.code = code;
  }
}
