import type { ProviderPlan } from "../../defs/plan.ts";
import type { TemplateValues } from "../../defs/template.ts";
import type { ErrorKind } from "../../store/state.ts";
import type { OutputParser } from "./spawn.ts";

/** What a structured provider learned from the agent's own output. */
export interface Report {
  isError: boolean;
  message: string | null;
  kind: ErrorKind | null;
  costUsd: number | null;
  /** A usage or rate limit: when it resets, if the agent said. */
  resetAt: string | null;
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
