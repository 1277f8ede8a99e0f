// Errors as the real API server reports them: an HTTP code plus a metav1.Status body whose reason
// and message match the server's wording, so client code that inspects either behaves as in a cluster.
import type { ResourceType, StatusDetails, StatusObject } from './types.js';

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): StatusObject {
    const status: StatusObject = {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
      message: this.message, reason: this.reason, code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }
}

export function successStatus(details?: StatusDetails): StatusObject {
  const status: StatusObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 };
  if (details) status.details = details;
  return status;
}

/** "services" or "trafficroutes.routing.pilotfish.io": the qualified resource name used in messages. */
export function qualifiedResource(rt: ResourceType): string {
  return rt.group ? `${rt.resource}.${rt.group}` : rt.resource;
}

// The real server leaves out an empty group (core types), as Go's omitempty does.
function details(rt: ResourceType, name: string): StatusDetails {
  return rt.group ? { name, group: rt.group, kind: rt.resource } : { name, kind: rt.resource };
}

export function notFound(rt: ResourceType, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(rt)} "${name}" not found`, details(rt, name));
}

export function alreadyExists(rt: ResourceType, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(rt)} "${name}" already exists`, details(rt, name));
}

export function conflict(rt: ResourceType, name: string, why: string): ApiError {
  return new ApiError(409, 'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(rt)} "${name}": ${why}`, details(rt, name));
}

export const MODIFIED_CONFLICT = 'the object has been modified; please apply your changes to the latest version and try again';

export function invalid(rt: ResourceType, name: string, field: string, message: string): ApiError {
  return new ApiError(422, 'Invalid', `${rt.kind} "${name}" is invalid: ${field}: ${message}`,
    { ...details(rt, name), kind: rt.kind, causes: [{ reason: 'FieldValueInvalid', message, field }] });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function methodNotAllowed(): ApiError {
  return new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

export function unknownPath(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource');
}

const REASONS: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
  409: 'Conflict', 410: 'Expired', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests',
  500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

/** The Status for an injected fault with an arbitrary code. */
export function injectedError(code: number, message?: string, retryAfterSeconds?: number): ApiError {
  const reason = REASONS[code] ?? 'Unknown';
  return new ApiError(code, reason, message ?? `injected fault: ${code} ${reason}`,
    retryAfterSeconds === undefined ? undefined : { retryAfterSeconds });
}
