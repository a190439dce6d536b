/**
 * The typed error of credentials a NATS server refused (user/password, token, nkey, JWT:
 * "Authorization Violation", "Authentication Expired"). `code` is "AUTH_FAILED", so callers match it
 * like every other ReplicError code; `cause` is the `nats` client's own error.
 */
import { ReplicError } from "@replic/core";

export class AuthFailedError extends ReplicError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("AUTH_FAILED", message, options);
    this.name = "AuthFailedError";
  }
}

/** True for a `nats` client error (or status code) that means the server refused the credentials. */
export function isNatsAuthError(codeOrError: unknown): boolean {
  const code = typeof codeOrError === "string" ? codeOrError : (codeOrError as { code?: unknown } | null)?.code;
  return code === "AUTHORIZATION_VIOLATION" || code === "AUTHENTICATION_EXPIRED" || code === "ACCOUNT_EXPIRED";
}
