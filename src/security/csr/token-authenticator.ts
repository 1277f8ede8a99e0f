// Who is asking: a projected service account token in, a workload (namespace, service account)
// out. The CA never takes the identity from the CSR; it takes it from here.

type TokenRejection = 'token_expired' | 'token_wrong_audience' | 'token_invalid' | 'not_service_account';

export type AuthenticationResult =
  | { readonly ok: true; readonly namespace: string; readonly serviceAccount: string; readonly username: string }
  | { readonly ok: false; readonly reason: TokenRejection; readonly message: string; readonly username?: string };

export interface TokenAuthenticator {
  /** Decides about `token`; throws only when it cannot decide (the API server is unreachable or refuses us). */
  authenticate(token: string): Promise<AuthenticationResult>;
}
