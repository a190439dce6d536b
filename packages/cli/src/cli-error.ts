/** Errors the CLI reports as one line and a non-zero exit code. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** One line for any error: `replic: <CODE>: <message>`. */
export function errorLine(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? e.code : "ERROR";
  const message = String(e?.message ?? err).split("\n")[0];
  return `replic: ${code}: ${message}`;
}
