// A queue stage's check before each iteration: its command (words, never a shell) runs like an
// agent, recorded and ended with its whole process group, and the lines it prints are the items left.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { readText } from "../store/fsx.ts";
import type { Host, StageRun } from "./host.ts";
import { runRecorded } from "./iteration.ts";
import { agentEnv } from "./providers/index.ts";
import { iterationView } from "./view.ts";

export interface QueueCheck {
  ok: boolean;
  items: number;
  error: string | null;
}

/** bd and friends say "nothing to do" in words or as an empty JSON list; both mean empty. */
const EMPTY = /^(\[\s*\]|\{\s*\}|null|no (ready|open|pending)? ?(work|issues|tasks|items|beads)\b.*)$/i;

export function countItems(output: string): number {
  const lines = output.split("\n").map((l) => l.trim()).filter(Boolean);
  if (lines.length === 1 && EMPTY.test(lines[0]!)) return 0;
  try {
    const v = JSON.parse(output);
    if (Array.isArray(v)) return v.length;
  } catch {}
  return lines.length;
}

/** Items left before iteration `next`: the command sees that iteration's template values and environment. */
export async function checkQueue(h: Host, sr: StageRun, next: number): Promise<QueueCheck> {
  const words = sr.stage.termination.command ?? [];
  if (!words.length) return { ok: false, items: 0, error: "no queue command" };
  const view = iterationView(h, sr, next);
  // stdout alone is the list (queue.out); queue.log has stdout and stderr for people.
  const out = join(sr.stageDir, "queue.out");
  const log = join(sr.stageDir, "queue.log");
  for (const f of [out, log]) rmSync(f, { force: true });
  const outcome = await runRecorded(h, sr, { name: "command", model: null, command: words, bin: null }, view.vars, {
    cwd: sr.cwd,
    env: agentEnv(view.env),
    prompt: "",
    timeoutMs: 120_000,
    outputPath: log,
    rawPath: out,
    statusPath: view.files.status,
    echo: () => {},
  });
  if (outcome.failure) return { ok: false, items: 0, error: outcome.failure.message };
  try {
    return { ok: true, items: countItems(readText(out, 16 << 20) ?? ""), error: null };
  } catch (e) {
    return { ok: false, items: 0, error: (e as Error).message };
  }
}
