import { defineCommand } from "citty";
import { Exit, usage } from "../lib/errors.ts";
import { c, emit } from "../lib/output.ts";
import { selfName } from "../lib/proc.ts";
import { sessionRef } from "../sessions/overview.ts";
import { removeSessions } from "../sessions/remove.ts";
import { resolveRoot } from "../store/paths.ts";
import { jsonArg, rootArg, sessionsArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "rm", description: "Remove finished sessions: run directory, lock, leftover tmux (a running one only with --force)" },
  args: {
    ...sessionsArg,
    force: { type: "boolean", description: "kill a running session first, then remove it" },
    ...jsonArg,
    ...rootArg,
  },
  async run({ args }) {
    const root = resolveRoot(args.root);
    const names = [...new Set(args._.map(sessionRef))];
    if (!names.length) throw usage("which session? give one or more names", { hint: `'${selfName()} list' shows them; '${selfName()} prune' removes finished ones by age or status` });
    const removed = await removeSessions(root, names, !!args.force);
    emit(args.json, { removed }, () =>
      removed.map((r) => `${c.green("removed")} ${r.session} (${r.status}${r.killed.length ? `; stopped ${r.killed.join(", ")} first` : ""})`).join("\n"),
    );
    return Exit.ok;
  },
});
