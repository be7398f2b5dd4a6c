import type { ArgsDef } from "citty";
import { usage } from "../lib/errors.ts";

export const jsonArg = {
  json: { type: "boolean", description: "print one JSON document on stdout" },
} as const satisfies ArgsDef;

export const rootArg = {
  root: { type: "string", description: "project root (default: $SESSIONS_ROOT, the git top-level, or the cwd)" },
} as const satisfies ArgsDef;

export const sessionArg = {
  session: { type: "positional", required: true, description: "session name" },
} as const satisfies ArgsDef;

/** Several session names, for the verbs that act on each (`kill a b`, `rm a b`). */
export const sessionsArg = {
  sessions: { type: "positional", required: false, description: "session names (one or more)" },
} as const satisfies ArgsDef;

/** Positionals that take every remaining word; elsewhere a word beyond the declared positionals is refused. */
export const variadic: ReadonlySet<unknown> = new Set([sessionsArg.sessions]);

export const followArg = {
  follow: { type: "boolean", description: "keep printing what is new until the session ends (Ctrl-C stops)" },
} as const satisfies ArgsDef;

export const runFlags = {
  provider: { type: "string", description: "claude | codex | command" },
  model: { type: "string", description: "model name for the provider" },
  command: { type: "string", description: "the agent command line, for --provider command" },
  context: { type: "string", description: "guidance text, becomes ${CONTEXT}" },
  input: { type: "string", description: "an input file (repeatable), listed in context.json and ${INPUTS}" },
  delay: { type: "string", description: "seconds between iterations" },
  timeout: { type: "string", description: "seconds one iteration may take" },
  foreground: { type: "boolean", description: "run the engine in this terminal, not in tmux (CI)" },
  keep: { type: "boolean", description: "keep the tmux session open after the engine ends" },
  notify: { type: "boolean", description: "a desktop notification when the session ends (also: SESSIONS_NOTIFY=1)" },
} as const satisfies ArgsDef;

export const budgetFlags = {
  "budget-usd": { type: "string", description: "end the session (failed, kind budget) before it spends more than this many USD" },
  "budget-tokens": { type: "string", description: "end the session (failed, kind budget) before it uses more than this many tokens" },
} as const satisfies ArgsDef;

/** --budget-usd / --budget-tokens as numbers (undefined when not given). */
export function budgetOf(args: { "budget-usd"?: string; "budget-tokens"?: string }) {
  return { usd: num(args["budget-usd"], "--budget-usd", 0, 1e9), tokens: num(args["budget-tokens"], "--budget-tokens", 0, 1e15, true) };
}

/** A number flag (citty gives strings): refused unless it is within range. */
export function num(value: string | undefined, name: string, min: number, max: number, integer = false): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw usage(`${name} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
  return n;
}

/** Every value of a repeatable flag (citty keeps only the last). */
export function repeated(rawArgs: string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === `--${flag}` && i + 1 < rawArgs.length) out.push(rawArgs[++i]!);
    else if (a.startsWith(`--${flag}=`)) out.push(a.slice(flag.length + 3));
  }
  return out;
}
