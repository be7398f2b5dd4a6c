import { defineCommand } from "citty";
import { Exit, usage } from "../lib/errors.ts";
import { checkSessionName } from "../lib/names.ts";
import { selfName } from "../lib/proc.ts";
import { c, emit, log } from "../lib/output.ts";
import { nothingToStop, planStop, runningSessions, stopSession, type StopPlan, type StopResult } from "../sessions/stop.ts";
import { resolveRoot } from "../store/paths.ts";
import { jsonArg, rootArg, sessionsArg } from "./_args.ts";
import { canAsk, confirm } from "./_confirm.ts";

export default defineCommand({
  meta: { name: "kill", description: "Stop a session: its agent's processes, the engine, the tmux session, the lock (files are kept)" },
  args: {
    ...sessionsArg,
    yes: { type: "boolean", description: "do not ask for confirmation" },
    all: { type: "boolean", description: "every running session of the root" },
    ...jsonArg,
    ...rootArg,
  },
  async run({ args }) {
    const root = resolveRoot(args.root);
    const given = args._.map(checkSessionName);
    if (!!args.all === given.length > 0) throw usage(args.all ? "give session names or --all, not both" : "which session? give its name, or --all");
    const names = args.all ? runningSessions(root) : [...new Set(given)];
    const plans: StopPlan[] = [];
    for (const n of names) plans.push(await planStop(root, n, { onWait: log.info }));
    const todo = plans.filter((p) => !nothingToStop(p));

    if (todo.length && !args.yes) {
      const what = todo.map(describe).join("\n");
      if (!canAsk(args.json)) throw usage(`kill needs confirmation:\n${what}`, { hint: "pass --yes to kill without asking" });
      if (!(await confirm(`Kill ${todo.length === 1 ? "this session" : `these ${todo.length} sessions`}?\n${what}`))) {
        log.info("nothing was killed");
        return Exit.failed;
      }
    }
    const results: StopResult[] = [];
    for (const p of plans) results.push(nothingToStop(p) ? { session: p.session, killed: [], marked: false, status: p.status } : await stopSession(root, p));

    const doc = (r: StopResult) => ({ session: r.session, killed: r.killed, status: r.status, state_marked: r.marked });
    emit(args.json, args.all || names.length > 1 ? { sessions: results.map(doc) } : doc(results[0]!), () =>
      results.length ? results.map(human).join("\n") : "no running sessions: nothing to stop",
    );
    return Exit.ok;
  },
});

const RESUMABLE = new Set(["killed", "failed", "crashed", "paused"]);

function describe(p: StopPlan): string {
  const parts = [
    p.agents.length ? `agent group ${p.agents.join(", ")}` : "",
    p.engine ? `engine pid ${p.engine.pid}` : "",
    p.tmux ? `tmux ${p.tmux}` : "",
    p.descendants ? `${p.descendants} process(es) in its cgroup` : "",
    p.lock ? `lock to remove (${p.lock})` : "",
  ].filter(Boolean);
  return `  ${p.session} (${p.status})${parts.length ? `: ${parts.join(", ")}` : ": mark it killed"}`;
}

function human(r: StopResult): string {
  if (!r.killed.length && !r.marked) return `${r.session}: nothing to stop (status ${r.status})`;
  const what = r.killed.length ? `stopped ${r.killed.join(", ")}` : "nothing was running";
  // Only where resume would take it: not a complete session (a --keep one whose tmux was closed), not an orphan.
  const next = RESUMABLE.has(r.status) ? `; '${selfName()} resume ${r.session}' continues it` : "";
  return `${c.green("killed")} ${r.session}: ${what}${r.marked ? "; state marked killed" : ""} (status ${r.status})${next}`;
}
