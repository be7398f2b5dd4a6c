import { defineCommand } from "citty";
import { formatDiagnostic, type Diagnostic } from "../defs/diagnostics.ts";
import { lintAll, lintTarget, type LintReport } from "../defs/lint.ts";
import { findTarget } from "../defs/find.ts";
import { Exit } from "../lib/errors.ts";
import { c, emit } from "../lib/output.ts";
import { resolveRoot } from "../store/paths.ts";
import { jsonArg, rootArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "lint", description: "Validate stages and pipelines: every problem with its file, line and field" },
  args: {
    target: { type: "positional", required: false, description: "a stage or pipeline name, or a path (default: everything visible from the root)" },
    strict: { type: "boolean", description: "fail on warnings too" },
    ...jsonArg,
    ...rootArg,
  },
  run({ args }) {
    const root = resolveRoot(args.root);
    const strict = !!args.strict;
    const report = args.target ? lintTarget(root, findTarget(root, args.target), strict) : lintAll(root, strict);
    emit(args.json, report, () => human(report));
    return report.ok ? Exit.ok : Exit.usage;
  },
});

const LEVEL: Record<Diagnostic["level"], (s: string) => string> = { error: c.red, warning: c.yellow, hint: c.dim };
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function human(r: LintReport): string {
  const lines: string[] = [];
  for (const d of r.definitions) {
    lines.push(`${d.ok ? c.green("PASS") : c.red("FAIL")} ${d.kind} ${c.bold(d.name)}  ${c.dim(d.source)}`);
    for (const p of d.problems) lines.push(`  ${LEVEL[p.level](p.level.padEnd(7))} ${formatDiagnostic(p)}`);
  }
  const hints = r.hints ? `, ${plural(r.hints, "hint")}` : "";
  lines.push("", `${plural(r.definitions.length, "definition")}, ${plural(r.errors, "error")}, ${plural(r.warnings, "warning")}${hints}`);
  return lines.join("\n");
}
