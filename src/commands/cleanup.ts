import { defineCommand } from "citty";
import { Exit } from "../lib/errors.ts";
import { c, emit, errOut, log } from "../lib/output.ts";
import { fix, problems, scan, type Reconcile } from "../sessions/reconcile.ts";
import { resolveRoot } from "../store/paths.ts";
import { jsonArg, rootArg } from "./_args.ts";
import { canAsk, confirm } from "./_confirm.ts";
import { selfName } from "../lib/proc.ts";

export default defineCommand({
  meta: { name: "cleanup", description: "Find stale locks, orphaned tmux sessions and zombie states; fix them with --yes" },
  args: {
    yes: { type: "boolean", description: "fix what is found without asking" },
    worktrees: { type: "boolean", description: "also remove the git worktrees of finished parallel sessions" },
    ...jsonArg,
    ...rootArg,
  },
  async run({ args }) {
    const root = resolveRoot(args.root);
    let report = scan(root);
    const withWorktrees = !!args.worktrees;
    const count = problems(report, withWorktrees);
    if (count) {
      let go = !!args.yes;
      if (!go && canAsk(args.json)) {
        errOut(human(report));
        go = await confirm(`Fix ${count === 1 ? "this" : `these ${count}`}?`);
      }
      if (go) report = await fix(root, report, { worktrees: withWorktrees });
    } else if (args.yes) report.fixed = true;

    emit(args.json, report, () => human(report));
    const errors = [...report.stale_locks, ...report.orphaned_tmux, ...report.zombie_states, ...report.half_created, ...report.worktrees].filter((x) => x.error);
    if (errors.length) log.warn(`${errors.length} finding(s) could not be fixed: see the report`);
    return errors.length ? Exit.failed : Exit.ok;
  },
});

function human(r: Reconcile): string {
  const lines: string[] = [];
  const mark = (x: { fixed?: boolean; note?: string; error?: string }) =>
    x.fixed === undefined ? "" : x.fixed ? c.green(" fixed") : x.error ? c.red(` not fixed: ${x.error}`) : c.dim(` left alone: ${x.note}`);
  const section = <T>(title: string, list: T[], line: (x: T) => string) => {
    if (!list.length) return;
    lines.push(c.bold(`${title} (${list.length})`), ...list.map((x) => `  ${line(x)}`));
  };
  section("stale locks", r.stale_locks, (l) => `${l.session}: ${l.reason}${l.pid ? ` (pid ${l.pid})` : ""}${mark(l)}`);
  section("orphaned tmux sessions", r.orphaned_tmux, (o) => `${o.name}: ${o.reason}${o.agent_pgids.length ? `, agent group ${o.agent_pgids.join(", ")} still running` : ""}${mark(o)}`);
  section("zombie states", r.zombie_states, (z) => `${z.session}: says ${z.status}, ${z.reason}${z.agent_pgids.length ? `, agent group ${z.agent_pgids.join(", ")} still running` : ""}${mark(z)}`);
  section("half-created run directories (removed by a fix)", r.half_created, (h) => `${h.session}: ${h.reason}${mark(h)}`);
  section(`unreadable states (left as they are; '${selfName()} resume <session>' rebuilds one from events.jsonl)`, r.unreadable, (u) => `${u.session}: ${u.reason}`);
  section("foreign tmux sessions (never touched)", r.foreign_tmux, (f) => `${f.name}: ${f.reason}`);
  section("worktrees of finished sessions", r.worktrees, (w) => `${w.path} (${w.session}, ${w.reason})${mark(w)}`);
  if (!lines.length) return "all clear: no stale locks, orphaned tmux sessions or zombie states";
  if (!r.fixed && problems(r, false)) lines.push("", c.dim(`nothing was changed: '${selfName()} cleanup --yes' fixes these`));
  if (!r.fixed && r.worktrees.length && !r.worktrees.some((w) => w.fixed !== undefined)) lines.push(c.dim("worktrees are removed only with --worktrees"));
  return lines.join("\n");
}
