import { defineCommand } from "citty";
import { Exit } from "../lib/errors.ts";
import { checkSessionName } from "../lib/names.ts";
import { c, emit } from "../lib/output.ts";
import { inspect } from "../sessions/inspect.ts";
import { resume } from "../sessions/resume.ts";
import { resolveRoot } from "../store/paths.ts";
import { budgetFlags, budgetOf, jsonArg, rootArg, runFlags } from "./_args.ts";
import { selfName } from "../lib/proc.ts";

export default defineCommand({
  meta: { name: "resume", description: "Continue a crashed, failed, killed or paused session where it stopped" },
  args: {
    session: { type: "positional", required: true, description: "session name" },
    foreground: runFlags.foreground,
    keep: runFlags.keep,
    context: { type: "string", description: "guidance for the next iterations, becomes ${CONTEXT}" },
    ...budgetFlags,
    ...jsonArg,
    ...rootArg,
  },
  async run({ args }) {
    const root = resolveRoot(args.root);
    const r = await resume({
      root,
      session: checkSessionName(args.session),
      foreground: !!args.foreground,
      keep: !!args.keep,
      context: args.context,
      budget: budgetOf(args),
      echo: args.json ? "stderr" : "stdout",
    });
    const at = r.resumed_at;
    const where = at.id === null ? "after its last node" : `${at.run > 1 ? `run ${at.run}, ` : ""}node ${at.node} (${at.id}), iteration ${at.iteration}`;
    const status = r.state?.status ?? null;
    // In the foreground the engine has ended: like `start --foreground`, print the status document.
    const doc = args.foreground ? { ...inspect(root, r.session), resumed_at: at } : null;
    emit(args.json, doc ?? { session: r.session, target: r.target, tmux: r.tmux, pid: r.pid, run_dir: r.run_dir, resumed_at: at, unpaused: r.unpaused, status }, () =>
      args.foreground
        ? `session ${r.session} resumed at ${where}; it ended ${status}${r.state?.error ? ` — ${r.state.error.message}` : ""}`
        : [
            `${c.green(r.unpaused ? "unpaused" : "resumed")} ${r.session} at ${where}${r.tmux ? ` in tmux session ${r.tmux}` : ""}, engine pid ${r.pid}`,
            `  monitor: ${selfName()} monitor ${r.session}`,
            `  status:  ${selfName()} status ${r.session}`,
          ].join("\n"),
    );
    if (args.foreground) return status === "complete" ? Exit.ok : Exit.failed;
    return Exit.ok;
  },
});
