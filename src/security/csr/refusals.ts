// Why a certificate request was refused: one code per distinct cause, each with its HTTP status,
// counted in a plain object that the metrics module reads (no metrics library here).

export const CSR_REFUSAL_REASONS = [
  'method_not_allowed',
  'wrong_content_type',
  'body_too_large',
  'missing_token',
  'token_expired',
  'token_wrong_audience',
  'token_invalid',
  'not_service_account',
  'request_malformed',
  'csr_malformed',
  'csr_bad_signature',
  'identity_mismatch_trust_domain',
  'identity_mismatch_namespace',
  'identity_mismatch_service_account',
  'overloaded',
  'authentication_unavailable',
  'signing_failed',
] as const;

export type CsrRefusalReason = (typeof CSR_REFUSAL_REASONS)[number];

export const REFUSAL_STATUS: Readonly<Record<CsrRefusalReason, number>> = {
  method_not_allowed: 405,
  wrong_content_type: 415,
  body_too_large: 413,
  missing_token: 401,
  token_expired: 401,
  token_wrong_audience: 401,
  token_invalid: 401,
  not_service_account: 403,
  request_malformed: 400,
  csr_malformed: 400,
  csr_bad_signature: 400,
  identity_mismatch_trust_domain: 403,
  identity_mismatch_namespace: 403,
  identity_mismatch_service_account: 403,
  // Ours, not the caller's: the caller should retry later.
  overloaded: 503,
  authentication_unavailable: 503,
  signing_failed: 500,
};

/** Read by metrics: certificates issued, and requests refused by reason (every reason present, from 0). */
export interface CsrCounters {
  issued: number;
  readonly refused: Record<CsrRefusalReason, number>;
}

export function newCsrCounters(): CsrCounters {
  const refused = {} as Record<CsrRefusalReason, number>;
  for (const reason of CSR_REFUSAL_REASONS) refused[reason] = 0;
  return { issued: 0, refused };
}
