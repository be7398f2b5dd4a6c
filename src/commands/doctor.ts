import { defineCommand } from "citty";
import { Exit } from "../lib/errors.ts";
import { c, emit } from "../lib/output.ts";
import { doctor, type Check } from "../sessions/doctor.ts";
import { jsonArg, rootArg } from "./_args.ts";

const MARK: Record<Check["status"], string> = { ok: c.green("ok  "), warn: c.yellow("warn"), fail: c.red("FAIL") };

export default defineCommand({
  meta: { name: "doctor", description: "Check tmux, the agent CLIs and the project root; say what to fix" },
  args: { ...jsonArg, ...rootArg },
  run({ args }) {
    const report = doctor(args.root);
    emit(args.json, report, () =>
      report.checks
        .map((k) => `${MARK[k.status]} ${k.name.padEnd(12)} ${k.detail}${k.fix ? `\n     ${"".padEnd(12)} ${c.dim(`fix: ${k.fix}`)}` : ""}`)
        .join("\n"),
    );
    const failures = report.checks.filter((k) => k.status === "fail");
    if (failures.some((k) => k.name === "tmux")) return Exit.missingDep;
    return failures.length ? Exit.failed : Exit.ok;
  },
});
