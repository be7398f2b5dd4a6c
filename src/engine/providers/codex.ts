import type { ProviderPlan } from "../../defs/plan.ts";
import type { ErrorKind } from "../../store/state.ts";
import { parseResetTime } from "./limits.ts";
import type { Provider, Report, ReportingParser, Usage } from "./types.ts";

/**
 * Codex non-interactive: `codex exec` reading the prompt from stdin (`-`), sandbox and approvals
 * bypassed, JSON events on stdout. Codex may linger after its work is done, so once a valid
 * status.json exists it gets a short grace period before it is ended.
 */
export const codex: Provider = {
  name: "codex",
  argv(plan: ProviderPlan) {
    return [
      plan.bin ?? "codex",
      "exec",
      "--dangerously-bypass-approvals-and-sandbox",
      "--skip-git-repo-check",
      "--json",
      "--color",
      "never",
      ...(plan.model ? ["-m", plan.model] : []),
      ...(plan.effort ? ["-c", `model_reasoning_effort="${plan.effort}"`] : []),
      "-",
    ];
  },
  parser: () => new CodexParser(),
  lingerMs: 15_000,
};

type Json = Record<string, unknown>;

export class CodexParser implements ReportingParser {
  /** Only turn.failed is final: `error` events are mostly reconnect attempts Codex recovers from. */
  private error: string | null = null;
  private lastWarning: string | null = null;
  private lastMessage: string | null = null;
  private usage: Usage | null = null;

  line(line: string): string {
    const t = line.trim();
    if (!t) return "";
    let e: Json;
    try {
      e = JSON.parse(t);
    } catch {
      return `${t}\n`;
    }
    const item = e.item as Json | undefined;
    switch (e.type) {
      case "item.completed":
        if (item?.type === "agent_message" && typeof item.text === "string") {
          this.lastMessage = item.text;
          return `${item.text}\n`;
        }
        if (item?.type === "command_execution") return `→ ${String(item.command ?? "")} (exit ${String(item.exit_code ?? "?")})\n`;
        if (item?.type === "file_change") return `→ edited ${JSON.stringify((item.changes as Json[] | undefined)?.map((c) => c.path) ?? [])}\n`;
        if (item?.type === "error" && typeof item.message === "string") return `! ${item.message}\n`;
        return "";
      case "turn.failed": {
        const err = e.error as Json | undefined;
        this.error = String(err?.message ?? "turn failed");
        // Codex prints the same message as an `error` event first: show it once.
        return this.error === this.lastWarning ? "" : `! ${this.error}\n`;
      }
      case "turn.completed":
        this.lastWarning = null;
        this.addUsage(e.usage as Json | undefined);
        return "";
      case "error":
        this.lastWarning = String(e.message ?? "error");
        return `! ${this.lastWarning}\n`;
      default:
        return "";
    }
  }

  report(): Report {
    const error = this.error;
    if (!error) {
      // No final failure; a reconnect warning explains a non-zero exit or a timeout, if there is one.
      const w = this.lastWarning;
      return { isError: false, message: w ?? this.lastMessage, kind: w ? classifyCodex(w) : null, costUsd: null, resetAt: null, usage: this.usage };
    }
    const kind = classifyCodex(error);
    return { isError: true, message: error, kind, costUsd: null, resetAt: kind === "limit" ? parseResetTime(error) : null, usage: this.usage };
  }

  /** Summed over turns. Codex counts cached tokens in its input tokens; they are kept apart here. Its stream names no model and no cost. */
  private addUsage(u: Json | undefined): void {
    if (!u || typeof u !== "object") return;
    const n = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x : 0);
    const prev = this.usage ?? { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, cost_usd: null, turns: 0, model: null };
    this.usage = {
      ...prev,
      input_tokens: prev.input_tokens + Math.max(0, n(u.input_tokens) - n(u.cached_input_tokens)),
      output_tokens: prev.output_tokens + n(u.output_tokens),
      cache_read_tokens: prev.cache_read_tokens + n(u.cached_input_tokens),
      cache_write_tokens: prev.cache_write_tokens + n(u.cache_write_input_tokens),
      turns: (prev.turns ?? 0) + 1,
    };
  }
}

export function classifyCodex(message: string): ErrorKind {
  const m = message.toLowerCase();
  if (/\b401\b|unauthorized|not logged in|codex login|credentials|api key|authentication|sign in again/.test(m)) return "auth";
  if (/\b429\b|rate limit|usage limit|usage_limit|too many requests|quota exceeded|at capacity|overloaded/.test(m)) return "limit";
  if (/stream disconnected|network|error sending request|connection|timed out|dns|reconnecting/.test(m)) return "network";
  return "agent_error";
}
