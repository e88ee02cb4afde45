// Egress errors with a stable code; the API turns them into Twirp errors of the same name (api/egress-service.ts).
export type EgressErrorCode = 'invalid_argument' | 'not_found' | 'unimplemented' | 'resource_exhausted' | 'failed_precondition' | 'unavailable' | 'already_exists';

export class EgressError extends Error {
  readonly code: EgressErrorCode;
  constructor(code: EgressErrorCode, message: string) {
    super(message);
    this.name = 'EgressError';
    this.code = code;
  }
}
