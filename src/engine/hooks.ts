// Hooks: the user's commands after each iteration (on_iteration) and when the session ends
// (on_complete, on_fail). Run like a command agent (no shell, a process group of its own, recorded
// in state.json so kill, cleanup and resume can end it), each bounded by its timeout; a hook that
// fails or hangs is logged and never fails or holds the session.
import { basename, join } from "node:path";
import type { HookPlan, HooksPlan } from "../defs/plan.ts";
import { SELF_WORD } from "../defs/executables.ts";
import { budgetInForce, readControl } from "../store/control.ts";
import { budgetTokens, derivedStatus, type HistoryEntry } from "../store/state.ts";
import type { Host } from "./host.ts";
import { agentEnv, runAgent } from "./providers/index.ts";
import { childCgroup, killCgroup } from "../lib/cgroup.ts";
import type { TemplateValues } from "../defs/template.ts";

export type HookKind = keyof HooksPlan;

/** The status document a hook reads on stdin: what `status --json` derives, from the engine's own state. */
function statusDocument(h: Host) {
  const budget = budgetInForce(h.plan.budget, readControl(h.paths.dir));
  return { ...h.state, ...derivedStatus(h.state, h.history, budget), history: h.history, paths: { run_dir: h.paths.dir, state: h.paths.state, events: h.paths.events, log: h.paths.log } };
}

/** The summary in SESSIONS_* variables, for hooks that want no JSON. */
function summaryEnv(h: Host, kind: HookKind, doc: ReturnType<typeof statusDocument>, entry: HistoryEntry | null): Record<string, string> {
  const s = h.state;
  const t = doc.totals;
  return {
    SESSIONS_HOOK: kind,
    SESSIONS_SESSION: s.session,
    SESSIONS_TARGET: s.target,
    SESSIONS_STATUS: s.status,
    SESSIONS_STAGE: entry?.stage ?? doc.current_stage_id ?? "",
    SESSIONS_ITERATION: String(entry?.iteration ?? s.iteration),
    SESSIONS_ITERATIONS: String(t.iterations),
    SESSIONS_FAILURES: String(t.failures),
    SESSIONS_DECISION: entry?.decision ?? "",
    SESSIONS_SUMMARY: (entry ? entry.summary : doc.last?.summary) ?? "",
    SESSIONS_REASON: (entry ? entry.reason : (s.completion_reason ?? s.error?.message)) ?? "",
    SESSIONS_ERROR_KIND: s.error?.kind ?? "",
    SESSIONS_COST_USD: t.cost_usd === null ? "" : String(t.cost_usd),
    SESSIONS_TOKENS: String(budgetTokens(t.tokens)),
    SESSIONS_COMMITS: String(t.commits),
    SESSIONS_RUN_DIR: h.paths.dir,
    SESSIONS_STATE: h.paths.state,
    // How kill and cleanup tell this session's process groups from a reused pgid.
    PIPELINE_SESSION: s.session,
  };
}

/** Every hook of `kind` (on_iteration: those of `entry`'s stage and the session's), side by side; resolves when all ended. */
export async function runHooks(h: Host, kind: HookKind, entry: HistoryEntry | null = null): Promise<void> {
  const hooks = h.plan.hooks[kind].filter((k) => k.stage === null || k.stage === entry?.stage);
  if (!hooks.length) return;
  const doc = statusDocument(h);
  const input = `${JSON.stringify(doc)}\n`;
  const env = summaryEnv(h, kind, doc, entry);
  await Promise.all(hooks.map((k) => runHook(h, kind, k, input, env)));
}

async function runHook(h: Host, kind: HookKind, hook: HookPlan, input: string, env: Record<string, string>): Promise<void> {
  const s = h.state;
  const name = hook.command[0] === SELF_WORD ? "sessions" : basename(hook.command[0]!);
  let pgid = 0;
  // Like an agent's: whatever the hook starts stays where kill and cleanup find it.
  const cgroup = childCgroup(s.cgroup ?? null);
  try {
    const out = await runAgent({ name: "command", model: null, command: hook.command, bin: null }, hookVars(h, Number(env.SESSIONS_ITERATION)), {
      cwd: h.plan.root,
      env: agentEnv(env),
      prompt: input,
      timeoutMs: hook.timeout * 1000,
      outputPath: join(h.paths.dir, "hooks.log"),
      rawPath: null,
      // A command agent has no status to wait for; the hook's output file stands in.
      statusPath: join(h.paths.dir, "hooks.log"),
      echo: () => {},
      cgroup,
      onStart: (g) => {
        pgid = g;
        s.agent_pgids = [...s.agent_pgids, g];
        h.save();
      },
    });
    h.log.line(out.failure ? `hook ${kind} ${name} failed (${out.failure.message}); the session is not affected` : `hook ${kind} ${name} done`);
  } catch (e) {
    h.log.line(`hook ${kind} ${name} could not run (${(e as Error).message}); the session is not affected`);
  } finally {
    await killCgroup(cgroup);
    if (pgid) {
      s.agent_pgids = s.agent_pgids.filter((g) => g !== pgid);
      h.save();
    }
  }
}

/** A hook's words may name ${SESSIONS_BIN}, ${SESSION_NAME}, ${ITERATION}, ${PROGRESS}; an iteration's own files are not its. */
function hookVars(h: Host, iteration: number): TemplateValues {
  return { CTX: "", STATUS: "", OUTPUT: "", INPUTS: "", CONTEXT: h.plan.context ?? "", PROGRESS: h.paths.progress, SESSION_NAME: h.plan.session, ITERATION: String(iteration), INDEX: String(iteration - 1) };
}
