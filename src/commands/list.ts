import { defineCommand } from "citty";
import { Exit, usage } from "../lib/errors.ts";
import { emit, termWidth } from "../lib/output.ts";
import { overview } from "../sessions/overview.ts";
import { listView } from "../sessions/view.ts";
import { resolveRoot } from "../store/paths.ts";
import { SessionStatus } from "../store/state.ts";
import { jsonArg, rootArg } from "./_args.ts";

/** What a row's status can be: the stored ones, plus what the evidence says (crashed, unreadable, orphaned). */
const STATUSES = [...SessionStatus.options, "crashed", "unreadable", "orphaned"] as const;

export default defineCommand({
  meta: { name: "list", description: "Every session of the project: running ones first, then newest first; --status and --running filter" },
  args: {
    all: { type: "boolean", description: "also list the old runs kept by 'start --force' ({session}.{timestamp})" },
    status: { type: "string", description: `only these statuses, comma-separated (${STATUSES.join(", ")})` },
    running: { type: "boolean", description: "only sessions whose engine is alive (running or paused)" },
    ...jsonArg,
    ...rootArg,
  },
  run({ args }) {
    const want = args.status?.split(",").map((x) => x.trim());
    const bad = want?.find((x) => !(STATUSES as readonly string[]).includes(x));
    if (bad) throw usage(`--status ${bad} is not a status`, { hint: `use ${STATUSES.join(", ")}` });
    const o = overview(resolveRoot(args.root), !!args.all);
    o.rows = o.rows.filter((r) => (!want || want.includes(r.status)) && (!args.running || r.alive));
    emit(args.json, { sessions: o.rows }, () => listView(o, Date.now(), termWidth()));
    return Exit.ok;
  },
});
