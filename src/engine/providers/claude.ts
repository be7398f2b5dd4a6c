import type { ProviderPlan } from "../../defs/plan.ts";
import type { ErrorKind } from "../../store/state.ts";
import { parseResetTime } from "./limits.ts";
import type { Provider, Report, ReportingParser, Usage } from "./types.ts";

/**
 * Claude Code in print mode: prompt on stdin, permissions skipped, stream-json so the pane shows
 * progress live and the final `result` event gives the outcome, cost and errors.
 */
export const claude: Provider = {
  name: "claude",
  argv(plan: ProviderPlan) {
    return [
      plan.bin ?? "claude",
      "-p",
      "--output-format",
      "stream-json",
      "--verbose",
      "--dangerously-skip-permissions",
      ...(plan.model ? ["--model", plan.model] : []),
    ];
  },
  parser: () => new ClaudeParser(),
  lingerMs: 60_000,
};

type Json = Record<string, unknown>;

export class ClaudeParser implements ReportingParser {
  private result: Json | null = null;
  private resetAt: string | null = null;
  private lastError: string | null = null;
  private model: string | null = null;
  /** The last assistant text shown: the result repeats it, and is then not shown twice. */
  private lastText = "";

  line(line: string): string {
    const t = line.trim();
    if (!t) return "";
    let e: Json;
    try {
      e = JSON.parse(t);
    } catch {
      // Not JSON: an error printed before streaming started (e.g. the root/sandbox refusal).
      this.lastError = t;
      return `${t}\n`;
    }
    switch (e.type) {
      case "system":
        if (e.subtype === "init") {
          if (typeof e.model === "string") this.model = e.model;
          return `[claude ${String(e.model ?? "")} session ${String(e.session_id ?? "")}]\n`;
        }
        if (e.subtype === "api_retry") return `[claude: API retry ${String(e.attempt)}/${String(e.max_retries)}${e.error ? ` (${String(e.error)})` : ""}]\n`;
        return "";
      case "assistant": {
        const out = render((e.message as Json | undefined)?.content);
        if (out) this.lastText = out;
        return out;
      }
      case "result":
        this.result = e;
        return typeof e.result === "string" && e.result && `${e.result}\n` !== this.lastText ? `\n${e.result}\n` : "";
      case "rate_limit_event": {
        const info = (e.rate_limit_info ?? e) as Json;
        if (info.status !== "rejected") return "";
        const at = info.resetsAt ?? info.resets_at;
        if (typeof at === "number") this.resetAt = new Date(at * (at < 1e12 ? 1000 : 1)).toISOString();
        else if (typeof at === "string") this.resetAt = at;
        return "";
      }
      default:
        return "";
    }
  }

  report(): Report {
    const r = this.result;
    if (!r) {
      return { isError: false, message: this.lastError, kind: null, costUsd: null, resetAt: null, usage: null };
    }
    const isError = r.is_error === true || (typeof r.subtype === "string" && r.subtype.startsWith("error"));
    const message = typeof r.result === "string" && r.result ? r.result : typeof r.subtype === "string" ? r.subtype : null;
    const kind = isError ? classifyClaude(message ?? "", r) : null;
    const resetAt = kind === "limit" ? (this.resetAt ?? resetFrom(message ?? "")) : null;
    return { isError, message, kind, costUsd: num(r.total_cost_usd), resetAt, usage: this.usage(r) };
  }

  /** The result's totals over every turn; the model is the session's (init), else the one billed. */
  private usage(r: Json): Usage | null {
    const u = r.usage as Json | undefined;
    if (!u || typeof u !== "object") return null;
    const billed = r.modelUsage && typeof r.modelUsage === "object" ? Object.keys(r.modelUsage) : [];
    return {
      input_tokens: num(u.input_tokens) ?? 0,
      output_tokens: num(u.output_tokens) ?? 0,
      cache_read_tokens: num(u.cache_read_input_tokens) ?? 0,
      cache_write_tokens: num(u.cache_creation_input_tokens) ?? 0,
      cost_usd: num(r.total_cost_usd),
      turns: num(r.num_turns),
      model: this.model ?? billed[0] ?? null,
    };
  }
}

const num = (x: unknown): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);

function render(content: unknown): string {
  if (!Array.isArray(content)) return "";
  let out = "";
  for (const c of content as Json[]) {
    if (c.type === "text" && typeof c.text === "string") out += `${c.text}\n`;
    else if (c.type === "tool_use") {
      const input = c.input as Json | undefined;
      const what = input?.command ?? input?.file_path ?? input?.pattern ?? input?.description ?? "";
      out += `→ ${String(c.name)}${what ? `: ${String(what).split("\n")[0]!.slice(0, 160)}` : ""}\n`;
    }
  }
  return out;
}

export function classifyClaude(message: string, r: Json = {}): ErrorKind {
  const m = message.toLowerCase();
  // The HTTP status first: Claude Code words a 401 by the server's message ("Failed to authenticate. API Error: 401 …").
  if (r.api_error_status === 401 || /not logged in|\/login|invalid api key|oauth token|session expired|credit balance too low|authentication|failed to authenticate|unauthorized/.test(m)) return "auth";
  if (r.api_error_status === 429 || r.api_error_status === 529 || /hit your .*limit|usage limit|out of usage|rate limit|rate_limit|\(429\)|too many requests|limiting requests|high load|overloaded/.test(m)) return "limit";
  if (/unable to connect|request timed out|network|econn|enotfound|etimedout|fetch failed/.test(m)) return "network";
  return "agent_error";
}

/** Older Claude Code printed "Claude AI usage limit reached|<epoch seconds>". */
export function resetFrom(message: string): string | null {
  const m = /\|(\d{10})\b/.exec(message);
  return m ? new Date(Number(m[1]) * 1000).toISOString() : parseResetTime(message);
}
