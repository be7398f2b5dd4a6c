import { invalid } from "../lib/errors.ts";
import { selfName } from "../lib/proc.ts";

export interface Diagnostic {
  level: "error" | "warning" | "hint";
  file: string;
  line?: number;
  field?: string;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const loc = d.line ? `${d.file}:${d.line}` : d.file;
  return `${loc}${d.field ? ` ${d.field}` : ""}: ${d.message}`;
}

export const errorsOf = (ds: Diagnostic[]) => ds.filter((d) => d.level === "error");

/** Throw the first error (exit 2), mentioning how many more there are. */
export function throwIfErrors(ds: Diagnostic[]): void {
  const errs = errorsOf(ds);
  const first = errs[0];
  if (!first) return;
  const more = errs.length > 1 ? ` (and ${errs.length - 1} more: run '${selfName()} lint')` : "";
  throw invalid(first.message + more, {
    where: { file: first.file, line: first.line, field: first.field },
    hint: `fix the definition; '${selfName()} lint' lists every problem`,
    details: { problems: errs },
  });
}
