import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import type { ProviderPlan } from "../defs/plan.ts";
import { readText } from "../store/fsx.ts";
import type { Cursor } from "../store/events.ts";
import { iterationDir } from "../store/paths.ts";
import type { Engine } from "./engine.ts";
import { agentEnv, runAgent } from "./providers/index.ts";

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

type StageRunLike = Parameters<Engine["runStage"]>[0];

/** A second opinion on a judgment stage's consensus: {stop, reason, confidence}, or failed. */
export async function judge(
  engine: Engine,
  sr: StageRunLike,
  plan: ProviderPlan,
  n: number,
  cursor: Cursor,
): Promise<{ status: "ok"; stop: boolean; reason: string } | { status: "failed"; reason: string }> {
  const dir = iterationDir(sr.stageDir, n);
  const verdictPath = join(dir, "judge.json");
  const outPath = join(dir, "output.md");
  const output = existsSync(outPath) ? readFileSync(outPath, "utf8").slice(-20_000) : "(no output)";
  const history = engine.state.history
    .filter((h) => h.stage === sr.stage.id && h.provider === sr.provider.id)
    .slice(-8)
    .map((h) => `- iteration ${h.iteration}: ${h.decision} — ${h.summary ?? ""} (${h.reason ?? ""})`)
    .join("\n");
  const prompt = PROMPT.replace("{stage}", sr.stage.id)
    .replace("{iteration}", String(n))
    .replace("{output}", output)
    .replace("{history}", history || "(none)")
    .replace("{verdict}", verdictPath);
  engine.event("judge_start", cursor, { provider: plan.name, model: plan.model });
  const vars = engine.vars(sr, n, join(dir, "context.json"), verdictPath, "", "");
  const outcome = await runAgent(plan, vars, {
    cwd: sr.cwd,
    env: agentEnv({ PIPELINE_SESSION: engine.plan.session, PIPELINE_STAGE: sr.stage.id, PIPELINE_ITERATION: String(n), PIPELINE_STATUS: verdictPath, PIPELINE_JUDGE: "1" }),
    prompt,
    timeoutMs: Math.min(sr.stage.timeout, 600) * 1000,
    outputPath: join(dir, "judge.log"),
    rawPath: null,
    statusPath: verdictPath,
    echo: () => {},
  });
  let result: { status: "ok"; stop: boolean; reason: string } | { status: "failed"; reason: string };
  if (outcome.failure) result = { status: "failed", reason: outcome.failure.message };
  else {
    const text = readText(verdictPath);
    let parsed: v.SafeParseResult<typeof VerdictSchema> | null = null;
    try {
      parsed = text === null ? null : v.safeParse(VerdictSchema, JSON.parse(text.replace(/^```(json)?|```$/gm, "")));
    } catch {}
    result = parsed?.success
      ? { status: "ok", stop: parsed.output.stop, reason: parsed.output.reason }
      : { status: "failed", reason: text === null ? "the judge wrote no verdict" : "the judge's verdict is not valid JSON" };
  }
  engine.event("judge_complete", cursor, result);
  return result;
}
