import { defineCommand } from "citty";
import { formatDiagnostic } from "../defs/diagnostics.ts";
import { firstIteration } from "../engine/view.ts";
import { LIMITS } from "../defs/schema.ts";
import { Exit } from "../lib/errors.ts";
import { c, emit, json, log, out } from "../lib/output.ts";
import { inspect } from "../sessions/inspect.ts";
import { MAX_ITERATIONS, prepare, start, type StartRequest } from "../sessions/start.ts";
import { resolveRoot, runPaths } from "../store/paths.ts";
import { budgetFlags, budgetOf, jsonArg, num, repeated, rootArg, runFlags } from "./_args.ts";
import { selfName } from "../lib/proc.ts";

export default defineCommand({
  meta: { name: "start", description: "Start a stage or pipeline in tmux (or in this terminal with --foreground)" },
  args: {
    target: { type: "positional", required: true, description: "stage name, pipeline name, or path to a .yaml" },
    session: { type: "positional", required: false, description: "session name (default: the target's name)" },
    max: { type: "positional", required: false, description: "iteration cap (overrides the definition's max)" },
    ...runFlags,
    runs: { type: "string", description: "run the whole pipeline this many times, each run in its own run-NN folder" },
    force: { type: "boolean", description: "take over a stale lock, or start over a session that already ran (the old run is kept)" },
    "dry-run": { type: "boolean", description: "print the resolved plan and the first prompt; start nothing" },
    ...budgetFlags,
    "on-complete": { type: "string", description: "a command run (no shell) when the session completes: summary in SESSIONS_* env, status JSON on stdin" },
    "on-fail": { type: "string", description: "a command run (no shell) when the session fails or is killed" },
    ...jsonArg,
    ...rootArg,
  },
  async run({ args, rawArgs }) {
    const budget = budgetOf(args);
    const req: StartRequest = {
      root: resolveRoot(args.root),
      target: args.target,
      session: args.session,
      max: num(args.max, "max", 1, MAX_ITERATIONS, true),
      provider: args.provider,
      model: args.model,
      command: args.command,
      context: args.context,
      inputs: repeated(rawArgs, "input"),
      delay: num(args.delay, "--delay", 0, LIMITS.maxDelay),
      timeout: num(args.timeout, "--timeout", 1, LIMITS.maxTimeout),
      runs: num(args.runs, "--runs", 1, LIMITS.maxRuns, true),
      force: !!args.force,
      foreground: !!args.foreground,
      keep: !!args.keep,
      notify: !!args.notify,
      budgetUsd: budget.usd,
      budgetTokens: budget.tokens,
      onComplete: args["on-complete"],
      onFail: args["on-fail"],
      echo: args.json ? "stderr" : "stdout",
    };
    const prepared = prepare(req);
    for (const w of prepared.warnings) log.warn(formatDiagnostic(w));
    for (const n of prepared.notes) log.warn(n);
    const { plan } = prepared;

    if (args["dry-run"]) {
      const paths = runPaths(req.root, plan.session);
      const { prompt } = firstIteration(plan, paths);
      emit(args.json, { plan, first_prompt: prompt, run_dir: paths.dir }, () => {
        const lines = [c.bold(`${plan.type} ${plan.target.name} → session ${plan.session}`), `source: ${plan.target.source}`, `run dir: ${paths.dir}`, ...((plan.runs ?? 1) > 1 ? [`runs: ${plan.runs} (each in run-NN/)`] : []), ""];
        plan.nodes.forEach((n, i) => {
          if (n.kind === "stage") {
            const t = n.termination;
            lines.push(`${i}. ${n.id} (${n.stage}) ${n.provider.name}${n.provider.model ? `/${n.provider.model}` : ""}: ${t.type}, max ${t.max}${t.type === "judgment" ? `, min ${t.min_iterations}, consensus ${t.consensus}` : ""}${t.type === "queue" ? `, until '${t.command?.join(" ")}' prints nothing` : ""}; delay ${n.delay}s, timeout ${n.timeout}s`);
          } else {
            lines.push(`${i}. ${n.id} parallel [${n.providers.map((p) => p.id).join(", ")}] × [${n.stages.map((s) => `${s.id} max ${s.termination.max}`).join(", ")}] isolation ${n.isolation}`);
          }
        });
        lines.push("", c.bold("first prompt:"), prompt);
        return lines.join("\n");
      });
      return Exit.ok;
    }

    const launched = await start(req, prepared);
    if (req.foreground) {
      const status = inspect(req.root, plan.session);
      if (args.json) json(status);
      else out(`session ${plan.session}: ${launched.state?.status}${launched.state?.error ? ` — ${launched.state.error.message}` : ""}`);
      return launched.state?.status === "complete" ? Exit.ok : Exit.failed;
    }
    emit(args.json, { session: launched.session, target: plan.target.name, tmux: launched.tmux, pid: launched.pid, run_dir: launched.run_dir }, () =>
      [
        `${c.green("started")} ${plan.session} (${plan.type} ${plan.target.name}) in tmux session ${launched.tmux}, engine pid ${launched.pid}`,
        `  monitor: ${selfName()} monitor ${plan.session}`,
        `  attach:  ${selfName()} attach ${plan.session}`,
        `  status:  ${selfName()} status ${plan.session}`,
        `  kill:    ${selfName()} kill ${plan.session}`,
      ].join("\n"),
    );
    return Exit.ok;
  },
});
