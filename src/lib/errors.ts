/** Exit codes are part of the contract (README "Exit codes"). */
export const Exit = {
  ok: 0,
  failed: 1,
  usage: 2,
  notFound: 3,
  conflict: 4,
  missingDep: 5,
} as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];

export interface Where {
  file?: string;
  line?: number;
  field?: string;
}

const codeNames: Record<ExitCode, string> = {
  0: "ok",
  1: "failed",
  2: "usage",
  3: "not_found",
  4: "conflict",
  5: "missing_dependency",
};

/** The one error type: commands throw it, only cli.ts turns it into output and an exit code. */
export class SessionsError extends Error {
  override readonly name = "SessionsError";
  constructor(
    message: string,
    readonly exit: ExitCode,
    readonly hint?: string,
    readonly where?: Where,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  get code(): string {
    return codeNames[this.exit];
  }

  /** "file:line field: message" — the one line a user reads. */
  get display(): string {
    const w = this.where;
    if (!w?.file) return this.message;
    const loc = w.line ? `${w.file}:${w.line}` : w.file;
    return `${loc}${w.field ? ` ${w.field}` : ""}: ${this.message}`;
  }

  toJSON() {
    return { message: this.display, hint: this.hint ?? null, code: this.code, exit: this.exit, ...this.details };
  }
}

type Extra = { hint?: string; where?: Where; details?: Record<string, unknown> };
const make = (exit: ExitCode) => (message: string, extra: Extra = {}) =>
  new SessionsError(message, exit, extra.hint, extra.where, extra.details);

export const usage = make(Exit.usage);
export const invalid = make(Exit.usage);
export const notFound = make(Exit.notFound);
export const conflict = make(Exit.conflict);
export const missingDep = make(Exit.missingDep);
export const failed = make(Exit.failed);

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
