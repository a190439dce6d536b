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

/** What any error reports: its code (`ERROR` when it has none) and the first line of its message. */
function describe(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? e.code : "ERROR";
  const message = String(e?.message ?? err).split("\n")[0]!;
  return { code, message };
}

/** One line for any error: `replic: <CODE>: <message>`. */
export function errorLine(err: unknown): string {
  const { code, message } = describe(err);
  return `replic: ${code}: ${message}`;
}

/**
 * The same error as one line of JSON (with `--json`): `{ "code", "message" }`, plus `table` and
 * `column` when the error names them (a SchemaError does).
 */
export function errorJson(err: unknown): string {
  const out: { code: string; message: string; table?: string; column?: string } = describe(err);
  const e = err as { table?: unknown; column?: unknown };
  if (typeof e?.table === "string") out.table = e.table;
  if (typeof e?.column === "string") out.column = e.column;
  return JSON.stringify(out);
}
