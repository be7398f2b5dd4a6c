// Running an agent through its provider: the environment it gets, and its outcome classified (auth, limit, exit, crash…).
import { basename } from "node:path";
import type { ProviderPlan } from "../../defs/plan.ts";
import type { TemplateValues } from "../../defs/template.ts";
import type { ErrorKind } from "../../store/state.ts";
import { claude } from "./claude.ts";
import { codex } from "./codex.ts";
import { command } from "./command.ts";
import { spawnAgent, type SpawnRequest, type SpawnResult } from "./spawn.ts";
import type { Provider, Report } from "./types.ts";

const providers: Record<ProviderPlan["name"], Provider> = { claude, codex, command };

/** Variables that change an agent's behaviour when inherited (claude refuses to start under CLAUDECODE). */
const SCRUB = ["CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CODE_SSE_PORT", "TMUX", "TMUX_PANE"];

export function agentEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !SCRUB.includes(k)) env[k] = v;
  return { ...env, ...extra };
}

export interface AgentOutcome {
  spawn: SpawnResult;
  report: Report | null;
  /** Why the run failed, classified; null when the process ran and reported no error. */
  failure: { kind: ErrorKind; message: string; resetAt: string | null } | null;
}

export type AgentRequest = Omit<SpawnRequest, "argv" | "parser" | "lingerMs">;

export async function runAgent(plan: ProviderPlan, vars: TemplateValues, req: AgentRequest): Promise<AgentOutcome> {
  const p = providers[plan.name];
  const parser = p.parser();
  const spawn = await spawnAgent({ ...req, argv: p.argv(plan, vars), parser, lingerMs: p.lingerMs });
  const report = parser?.report() ?? null;
  return { spawn, report, failure: classify(plan, spawn, report) };
}

function classify(plan: ProviderPlan, s: SpawnResult, r: Report | null): AgentOutcome["failure"] {
  // The command's own name (`${SESSIONS_BIN}` resolves to this binary), not a variable.
  const who = plan.name === "command" ? basename(plan.bin ?? plan.command?.[0] ?? "command") : plan.name;
  if (s.spawnError) return { kind: "crash", message: `could not start ${who}: ${s.spawnError}`, resetAt: null };
  if (s.aborted) return { kind: "signal", message: `${who} was stopped`, resetAt: null };
  if (s.timedOut) {
    const last = r?.kind ? ` (last: ${r.message})` : "";
    return { kind: "timeout", message: `${who} timed out after ${Math.round(s.durationMs / 1000)}s and was killed${last}`, resetAt: null };
  }
  if (r?.isError) return { kind: r.kind ?? "agent_error", message: `${who}: ${r.message ?? "reported an error"}`, resetAt: r.resetAt };
  if (s.endedAfterStatus) return null;
  if (s.signal) return { kind: "crash", message: `${who} was killed by ${s.signal}${tail(s.stderrTail)}`, resetAt: null };
  if (s.exitCode !== 0) {
    if (r?.kind && r.message) return { kind: r.kind, message: `${who}: ${r.message}`, resetAt: r.resetAt };
    const limit = plan.name === "command" ? null : limitIn(s.stderrTail);
    if (limit) return { kind: "limit", message: `${who}: ${limit}`, resetAt: null };
    return { kind: "exit", message: `${who} exited with code ${s.exitCode}${tail(s.stderrTail)}`, resetAt: null };
  }
  return null;
}

const tail = (stderr: string) => {
  const lines = stderr.trim().split("\n").filter((l) => l.trim());
  const last = lines.slice(-3).join(" | ").slice(0, 400);
  return last ? `: ${last}` : "";
};

const LIMIT = /(usage limit|rate limit|rate_limit|429|too many requests)[^\n]*/i;
export function limitIn(text: string): string | null {
  return LIMIT.exec(text)?.[0]?.trim() ?? null;
}
