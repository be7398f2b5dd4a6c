// The judge: a second opinion on a judgment stage's consensus, asked of another agent that writes
// {stop, reason, confidence} to judge.json.
import { join } from "node:path";
import * as v from "valibot";
import type { ProviderPlan } from "../defs/plan.ts";
import { readText, readTextTail } from "../store/fsx.ts";
import { cursorOf, type Host, type StageRun } from "./host.ts";
import { runRecorded } from "./iteration.ts";
import { MAX_STATUS_BYTES } from "./status.ts";
import { agentEnv } from "./providers/index.ts";
import { iterationView } from "./view.ts";

const VerdictSchema = v.looseObject({
  stop: v.boolean(),
  reason: v.optional(v.string(), ""),
  confidence: v.optional(v.number(), 0.5),
});

const PROMPT = `You are the judge of an autonomous agent loop. The worker agents of stage "{stage}" have voted
to stop after iteration {iteration}. Decide whether the stage's work is really done: would another
iteration materially improve the result? Be strict: stop only when it would not.

The latest iteration's output:
---
{output}
---

Recent history (newest last):
{history}

Write your verdict as JSON to the file {verdict}, and nothing else in that file:
{"stop": true|false, "reason": "one sentence", "confidence": 0.0-1.0}
`;

/**
 * The judge's prompt, filled in one pass over the template: text the agents wrote (which may hold
 * `{verdict}` or `$&`) is inserted as it is and never scanned again.
 */
export function judgePrompt(values: Record<"stage" | "iteration" | "output" | "history" | "verdict", string>): string {
  return PROMPT.replace(/\{(stage|iteration|output|history|verdict)\}/g, (_, k: keyof typeof values) => values[k]);
}

export type Verdict = { status: "ok"; stop: boolean; reason: string } | { status: "failed"; reason: string };

export async function judge(h: Host, sr: StageRun, plan: ProviderPlan, n: number): Promise<Verdict> {
  const view = iterationView(h, sr, n);
  const verdictPath = join(view.dir, "judge.json");
  const output = readTextTail(view.files.output, 20_000) ?? "(no output)";
  const history = h.history
    .filter((e) => e.stage === sr.stage.id && e.provider === sr.provider.id && (e.run ?? 1) === sr.run)
    .slice(-8)
    .map((e) => `- iteration ${e.iteration}: ${e.decision} — ${e.summary ?? ""} (${e.reason ?? ""})`)
    .join("\n");
  const prompt = judgePrompt({ stage: sr.stage.id, iteration: String(n), output, history: history || "(none)", verdict: verdictPath });
  const cursor = cursorOf(sr, n);
  h.event("judge_start", cursor, { provider: plan.name, model: plan.model });
  const outcome = await runRecorded(h, sr, plan, { ...view.vars, STATUS: verdictPath }, {
    cwd: sr.cwd,
    env: agentEnv({ ...view.env, PIPELINE_STATUS: verdictPath, PIPELINE_JUDGE: "1" }),
    prompt,
    timeoutMs: Math.min(sr.stage.timeout, 600) * 1000,
    outputPath: join(view.dir, "judge.log"),
    rawPath: null,
    statusPath: verdictPath,
    echo: () => {},
  });
  const result = outcome.failure ? ({ status: "failed", reason: outcome.failure.message } as const) : readVerdict(verdictPath);
  h.event("judge_complete", cursor, result);
  return result;
}

function readVerdict(path: string): Verdict {
  let text: string | null;
  try {
    text = readText(path, MAX_STATUS_BYTES);
  } catch (e) {
    return { status: "failed", reason: `the judge's verdict: ${(e as Error).message}` };
  }
  if (text === null) return { status: "failed", reason: "the judge wrote no verdict" };
  try {
    const parsed = v.safeParse(VerdictSchema, JSON.parse(text.replace(/^```(json)?|```$/gm, "")));
    if (parsed.success) return { status: "ok", stop: parsed.output.stop, reason: parsed.output.reason };
  } catch {}
  return { status: "failed", reason: "the judge's verdict is not valid JSON" };
}
