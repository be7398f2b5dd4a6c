import { existsSync, mkdirSync, renameSync } from "node:fs";
import { throwIfErrors, type Diagnostic } from "../defs/diagnostics.ts";
import type { Plan, ProviderPlan } from "../defs/plan.ts";
import { findTarget } from "../defs/find.ts";
import { buildPlan, type PlanOptions } from "../defs/resolve.ts";
import { LIMITS } from "../defs/schema.ts";
import { conflict, usage } from "../lib/errors.ts";
import { checkSessionName, DEF_NAME, defaultSessionName, tmuxName } from "../lib/names.ts";
import { writeJsonAtomic } from "../store/fsx.ts";
import { acquireLock, releaseLock } from "../store/lock.ts";
import { looksLikePath } from "../defs/find.ts";
import { runPaths } from "../store/paths.ts";
import { readState } from "../store/state.ts";
import { hasSession, requireTmux } from "../tmux.ts";
import { launch, type Launched } from "./launch.ts";

export interface StartRequest {
  root: string;
  target: string;
  session?: string;
  max?: number;
  provider?: string;
  model?: string;
  command?: string;
  context?: string;
  inputs: string[];
  delay?: number;
  timeout?: number;
  force: boolean;
  foreground: boolean;
  keep: boolean;
  notify: boolean;
  /** --budget-usd, --budget-tokens, --on-complete, --on-fail. */
  budgetUsd?: number;
  budgetTokens?: number;
  onComplete?: string;
  onFail?: string;
  echo: "stdout" | "stderr";
}

export interface Prepared {
  plan: Plan;
  warnings: Diagnostic[];
  /** Things that will likely stop an agent, said up front. */
  notes: string[];
}

/** Everything `start` checks before it creates anything: names, definitions, agents, tmux. */
export function prepare(req: StartRequest): Prepared {
  if (!looksLikePath(req.target) && !DEF_NAME.test(req.target)) {
    throw usage(`invalid target ${JSON.stringify(req.target)}`, { hint: "a stage or pipeline name (lower-case letters, digits, '-', '_'), or a path to a .yaml file" });
  }
  const target = findTarget(req.root, req.target);
  const session = checkSessionName(req.session ?? defaultSessionName(target.name));
  const provider = req.provider as ProviderPlan["name"] | undefined;
  if (provider && !["claude", "codex", "command"].includes(provider)) {
    throw usage(`unknown provider ${JSON.stringify(req.provider)}`, { hint: "use claude, codex or command" });
  }
  if (provider === "command" && !req.command) throw usage("--provider command needs --command '<agent command line>'");
  const opts: PlanOptions = {
    session,
    max: req.max,
    provider,
    model: req.model,
    command: req.command,
    context: req.context,
    inputs: req.inputs,
    delay: req.delay,
    timeout: req.timeout,
    keep: req.keep,
    notify: req.notify,
    budgetUsd: req.budgetUsd,
    budgetTokens: req.budgetTokens,
    onComplete: req.onComplete,
    onFail: req.onFail,
    resolveBins: true,
  };
  const diags: Diagnostic[] = [];
  const plan = buildPlan(req.root, target, opts, diags);
  throwIfErrors(diags);
  if (!plan) throw usage(`could not resolve ${req.target}`);
  return { plan, warnings: diags.filter((d) => d.level === "warning"), notes: agentNotes(plan) };
}

/** What will make an agent refuse to run, said before the session starts rather than at iteration 1. */
export function agentNotes(plan: Plan, uid = process.getuid?.(), env = process.env): string[] {
  const providers = plan.nodes.flatMap((n) => (n.kind === "stage" ? [n.provider] : n.providers.map((p) => p.provider)));
  const notes: string[] = [];
  if (uid === 0 && !env.IS_SANDBOX && providers.some((p) => p.name === "claude")) {
    notes.push("running as root: claude refuses --dangerously-skip-permissions unless IS_SANDBOX=1 is set (in a container or sandbox)");
  }
  return notes;
}

export async function start(req: StartRequest, prepared: Prepared): Promise<Launched> {
  const { plan } = prepared;
  const session = plan.session;
  const paths = runPaths(req.root, session);
  if (!req.foreground) {
    requireTmux();
    if (hasSession(tmuxName(session))) {
      const lock = existsSync(paths.lock);
      throw conflict(`tmux session ${tmuxName(session)} already exists${lock ? "" : " (not started by a running engine)"}`, {
        hint: `'sessions status ${session}' shows it; 'sessions kill ${session}' or 'sessions cleanup' removes it`,
      });
    }
  }
  acquireLock(paths.lock, session, { takeStale: req.force });
  let fresh = false;
  try {
    if (existsSync(paths.dir)) {
      const s = readState(paths.state);
      const what = s.ok ? `status ${s.state.status}` : s.missing ? "no state" : "unreadable state";
      if (!req.force) {
        throw conflict(`session ${session} already ran (${what}); its run directory is kept`, {
          hint: `'sessions resume ${session}' continues it; --force starts over (the old run is kept as ${session}.<timestamp>)`,
        });
      }
      const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
      renameSync(paths.dir, `${paths.dir}.${stamp}`);
    }
    mkdirSync(paths.dir, { recursive: true });
    fresh = true;
    writeJsonAtomic(paths.plan, plan);
  } catch (e) {
    releaseLock(paths.lock);
    throw e;
  }
  return launch({ root: req.root, session, plan, foreground: req.foreground, keep: req.keep, echo: req.echo, freshRunDir: fresh });
}

export const MAX_ITERATIONS = LIMITS.maxIterations;
