import { renderTemplate, type TemplateValues } from "../defs/template.ts";
import { which } from "../lib/proc.ts";

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

/** Run a queue stage's command (words, never a shell) before an iteration; its output lines are the items left. */
export async function runQueueCommand(words: string[], vars: TemplateValues, cwd: string, abort: AbortSignal): Promise<QueueCheck> {
  if (!words.length) return { ok: false, items: 0, error: "no queue command" };
  const argv = words.map((w) => renderTemplate(w, vars));
  const bin = argv[0]!.includes("/") ? argv[0]! : which(argv[0]!);
  if (!bin) return { ok: false, items: 0, error: `${argv[0]} not found on PATH` };
  try {
    const p = Bun.spawn([bin, ...argv.slice(1)], { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe", signal: abort, timeout: 120_000 });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0) return { ok: false, items: 0, error: `${argv.join(" ")} exited ${code}: ${err.trim().split("\n").pop() ?? ""}` };
    return { ok: true, items: countItems(out), error: null };
  } catch (e) {
    return { ok: false, items: 0, error: (e as Error).message };
  }
}
