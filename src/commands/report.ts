import { defineCommand } from "citty";
import { resolve } from "node:path";
import { Exit, failed } from "../lib/errors.ts";
import { emit, log } from "../lib/output.ts";
import { sessionRef } from "../sessions/overview.ts";
import { reportMarkdown, reportOf } from "../sessions/report.ts";
import { writeAtomic } from "../store/fsx.ts";
import { resolveRoot } from "../store/paths.ts";
import { jsonArg, rootArg, sessionArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "report", description: "What a session did and what it cost: Markdown (or --json) with totals, stages, timeline, errors" },
  args: {
    ...sessionArg,
    output: { type: "string", description: "write the report to this file instead of stdout" },
    ...jsonArg,
    ...rootArg,
  },
  run({ args }) {
    const r = reportOf(resolveRoot(args.root), sessionRef(args.session));
    if (args.output) {
      const file = resolve(args.output);
      try {
        writeAtomic(file, args.json ? `${JSON.stringify(r)}\n` : reportMarkdown(r));
      } catch (e) {
        throw failed(`cannot write ${file}: ${(e as Error).message}`);
      }
      log.info(`report of ${r.session} written to ${file}`);
      return Exit.ok;
    }
    emit(args.json, r, () => reportMarkdown(r));
    return Exit.ok;
  },
});
