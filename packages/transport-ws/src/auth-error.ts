/**
 * The typed error of a refused handshake: the other side (or this one) found the shared secret
 * wrong or missing, or the server's authenticate hook refused the upgrade. `code` is
 * "AUTH_FAILED", so callers match it like every other ReplicError code.
 */
import { ReplicError } from "@replic/core";

export class AuthFailedError extends ReplicError {
  /** "remote": the server refused our proof or our upgrade; "local": we refused the server's proof. */
  readonly refusedBy: "remote" | "local";
  constructor(message: string, refusedBy: "remote" | "local") {
    super("AUTH_FAILED", message);
    this.name = "AuthFailedError";
    this.refusedBy = refusedBy;
  }
}
