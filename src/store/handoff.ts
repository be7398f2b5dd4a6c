// The environment a `start` or `resume` hands to the engine it launches in tmux. A tmux server gives
// a new session its own global environment, not the caller's: an API key or CODEX_HOME exported
// after the server started would be lost. It travels in a file only the user can read (never in an
// argv, which other users can see), and the engine deletes it as soon as it has read it.
import { rmSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { readText, writeAtomic } from "./fsx.ts";

const EnvSchema = v.record(v.string(), v.string());

const handoffPath = (runDir: string) => join(runDir, "handoff.env.json");

export function writeEnvHandoff(runDir: string, env: NodeJS.ProcessEnv): void {
  const clean = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  writeAtomic(handoffPath(runDir), JSON.stringify(clean), 0o600);
}

/** The handed-over environment, removed from disk; null when there is none (or it is not valid). */
export function takeEnvHandoff(runDir: string): Record<string, string> | null {
  const path = handoffPath(runDir);
  let text: string | null = null;
  try {
    text = readText(path, 4 << 20);
  } catch {}
  rmSync(path, { force: true });
  if (text === null) return null;
  try {
    const r = v.safeParse(EnvSchema, JSON.parse(text));
    return r.success ? r.output : null;
  } catch {
    return null;
  }
}
