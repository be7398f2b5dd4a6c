import * as v from "valibot";
import type { ProviderPlan } from "../../defs/plan.ts";
import type { TemplateValues } from "../../defs/template.ts";
import type { ErrorKind } from "../../store/state.ts";
import type { OutputParser } from "./spawn.ts";

/**
 * One agent run's token usage as its CLI reported it. Input tokens exclude the cache reads counted
 * beside them (Claude reports them so; Codex counts cached ones in its input, taken out here). The cost
 * is the CLI's own figure (Claude's total_cost_usd), null when it gives none (Codex): never guessed.
 * Turns are the CLI's own count (Claude: model round trips; Codex: completed turns).
 */
export const UsageSchema = v.object({
  input_tokens: v.number(),
  output_tokens: v.number(),
  cache_read_tokens: v.number(),
  cache_write_tokens: v.number(),
  cost_usd: v.nullable(v.number()),
  turns: v.nullable(v.number()),
  model: v.nullable(v.string()),
});
export type Usage = v.InferOutput<typeof UsageSchema>;

/** What a structured provider learned from the agent's own output. */
export interface Report {
  isError: boolean;
  message: string | null;
  kind: ErrorKind | null;
  costUsd: number | null;
  /** A usage or rate limit: when it resets, if the agent said. */
  resetAt: string | null;
  /** Null when the agent reported none (it was killed first, or failed before its first turn). */
  usage: Usage | null;
}

export interface ReportingParser extends OutputParser {
  report(): Report;
}

export interface Provider {
  name: ProviderPlan["name"];
  argv(plan: ProviderPlan, vars: TemplateValues): string[];
  parser(): ReportingParser | null;
  /** How long the agent may run on after writing a valid status.json (0: no limit). */
  lingerMs: number;
}
