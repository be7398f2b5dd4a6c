import { defineCommand } from "citty";
import { Exit } from "../lib/errors.ts";
import { emit } from "../lib/output.ts";
import { overview } from "../sessions/overview.ts";
import { listView } from "../sessions/view.ts";
import { resolveRoot } from "../store/paths.ts";
import { jsonArg, rootArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "list", description: "Every session of the project: running, finished, crashed; newest first" },
  args: {
    all: { type: "boolean", description: "also list the old runs kept by 'start --force' ({session}.{timestamp})" },
    ...jsonArg,
    ...rootArg,
  },
  run({ args }) {
    const o = overview(resolveRoot(args.root), !!args.all);
    emit(args.json, { sessions: o.rows }, () => listView(o));
    return Exit.ok;
  },
});
