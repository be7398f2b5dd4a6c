import { defineCommand } from "citty";
import { Exit, usage } from "../lib/errors.ts";
import { ago, c, emit, table } from "../lib/output.ts";
import { selfName } from "../lib/proc.ts";
import { parseAge, PRUNABLE, pruneCandidates, removeSessions } from "../sessions/remove.ts";
import { resolveRoot } from "../store/paths.ts";
import { jsonArg, rootArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "prune", description: "Remove finished sessions (archived runs too) by age and status; a dry run unless --yes" },
  args: {
    "older-than": { type: "string", description: "only those last updated longer ago than this: 7d, 12h, 30m, 2w" },
    status: { type: "string", description: `only these statuses, comma-separated (default ${PRUNABLE.join(",")})` },
    yes: { type: "boolean", description: "remove them (without it, only list what would go)" },
    ...jsonArg,
    ...rootArg,
  },
  async run({ args }) {
    const root = resolveRoot(args.root);
    const statuses = args.status ? args.status.split(",").map((s) => s.trim()) : [...PRUNABLE];
    const bad = statuses.find((s) => !(PRUNABLE as readonly string[]).includes(s));
    if (bad) throw usage(`--status ${bad}: prune removes only ${PRUNABLE.join(", ")} sessions`, { hint: `'${selfName()} rm --force <session>' removes a running one` });
    const olderThanMs = args["older-than"] === undefined ? undefined : parseAge(args["older-than"], "--older-than");
    const found = pruneCandidates(root, { olderThanMs, statuses });
    const removed = args.yes && found.length ? await removeSessions(root, found.map((r) => r.session), false) : [];
    const rows = found.map((r) => ({ session: r.session, status: r.status, updated_at: r.updated_at, archived: r.archived }));
    emit(args.json, { sessions: rows, removed: !!args.yes }, () => {
      if (!found.length) return "nothing to prune";
      const list = table(found.map((r) => [r.session, r.status, ago(r.updated_at)]), ["SESSION", "STATUS", "LAST UPDATE"]);
      return args.yes
        ? `${list}\n\n${c.green("removed")} ${removed.length} session${removed.length === 1 ? "" : "s"}`
        : `${list}\n\n${c.dim(`nothing was removed: the same command with --yes removes these ${found.length}`)}`;
    });
    return Exit.ok;
  },
});
