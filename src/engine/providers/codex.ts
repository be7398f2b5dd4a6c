import type { ProviderPlan } from "../../defs/plan.ts";
import type { ErrorKind } from "../../store/state.ts";
import { parseResetTime } from "./limits.ts";
import type { Provider, Report, ReportingParser } from "./types.ts";

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
        return `! ${this.error}\n`;
      }
      case "turn.completed":
        this.lastWarning = null;
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
      return { isError: false, message: w ?? this.lastMessage, kind: w ? classifyCodex(w) : null, costUsd: null, resetAt: null };
    }
    const kind = classifyCodex(error);
    return { isError: true, message: error, kind, costUsd: null, resetAt: kind === "limit" ? parseResetTime(error) : null };
  }
}

export function classifyCodex(message: string): ErrorKind {
  const m = message.toLowerCase();
  if (/401|unauthorized|not logged in|codex login|credentials|api key|authentication|sign in again/.test(m)) return "auth";
  if (/429|rate limit|usage limit|usage_limit|too many requests|quota exceeded|at capacity/.test(m)) return "limit";
  if (/stream disconnected|network|error sending request|connection|timed out|dns|reconnecting/.test(m)) return "network";
  return "agent_error";
}
