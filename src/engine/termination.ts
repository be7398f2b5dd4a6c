// Termination rules: whether a stage ends after an iteration (fixed, judgment consensus, max).
import type { TerminationPlan } from "../defs/plan.ts";

export type Decision = "continue" | "stop" | "error" | "failed";

export interface Verdict {
  done: boolean;
  reason: string;
  /** Judgment: consensus is reached and a judge, if configured, must confirm it. */
  needsJudge?: boolean;
}

/**
 * Whether a stage ends after iteration `n`, given every decision of this stage so far (oldest first,
 * the current one last). Failed iterations are handled before this; `error` fails the session.
 */
export function afterIteration(t: TerminationPlan, n: number, decisions: Decision[]): Verdict {
  const last = decisions[decisions.length - 1];
  if (t.type === "fixed" && last === "stop") return { done: true, reason: `agent asked to stop at iteration ${n}` };
  if (t.type === "judgment" && n >= t.min_iterations) {
    const streak = trailingStops(decisions);
    if (streak >= t.consensus) {
      return { done: true, reason: `consensus: ${streak} consecutive stop decisions`, needsJudge: t.judge !== null };
    }
  }
  if (n >= t.max) return { done: true, reason: `reached max iterations (${t.max})` };
  return { done: false, reason: "" };
}

export function trailingStops(decisions: Decision[]): number {
  let k = 0;
  for (let i = decisions.length - 1; i >= 0 && decisions[i] === "stop"; i--) k++;
  return k;
}
