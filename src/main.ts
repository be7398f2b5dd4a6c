import type { ArgsDef, CommandDef } from "citty";
import { renderUsage, runCommand } from "citty";
import { commands, visibleCommands, type CommandName } from "./commands/index.ts";
import { Exit, SessionsError, usage } from "./lib/errors.ts";
import { c, json, log, out } from "./lib/output.ts";

const HELP_FLAGS = new Set(["--help", "-h"]);

export async function main(argv: string[], version: string): Promise<number> {
  const asJson = argv.includes("--json");
  try {
    const [name, ...rest] = argv;
    if (!name || name === "help" || HELP_FLAGS.has(name)) {
      if (name === "help" && rest[0] && rest[0] in commands) return await help(rest[0] as CommandName);
      if (!name && process.stdin.isTTY && process.stdout.isTTY) return await run("menu", []);
      out(rootHelp(version));
      return Exit.ok;
    }
    if (!(name in commands)) {
      throw usage(`unknown command ${JSON.stringify(name)}`, { hint: suggest(name, visibleCommands()) ?? "run 'sessions --help' for the list" });
    }
    if (rest.some((a) => HELP_FLAGS.has(a))) return await help(name as CommandName);
    return await run(name as CommandName, rest);
  } catch (e) {
    return report(e, asJson);
  }
}

async function load(name: CommandName): Promise<CommandDef> {
  return (await commands[name]()).default as CommandDef;
}

async function run(name: CommandName, rawArgs: string[]): Promise<number> {
  const cmd = await load(name);
  const args = (typeof cmd.args === "function" ? await cmd.args() : await cmd.args) as ArgsDef | undefined;
  checkFlags(rawArgs, args ?? {});
  const result = await runCommand(cmd, { rawArgs });
  return typeof result.result === "number" ? result.result : Exit.ok;
}

/** citty lets unknown flags through silently; a typo like --forground must not be ignored. */
function checkFlags(rawArgs: string[], args: ArgsDef): void {
  const known = new Map<string, string>();
  for (const [key, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    known.set(key, def.type ?? "string");
    const aliases = "alias" in def && def.alias ? (Array.isArray(def.alias) ? def.alias : [def.alias]) : [];
    for (const a of aliases) known.set(a, def.type ?? "string");
  }
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--") break;
    if (/^-\d/.test(a)) throw usage(`${a}: negative numbers are not accepted here`);
    if (!a.startsWith("-") || a === "-") continue;
    const long = a.startsWith("--");
    const raw = a.replace(/^--?/, "");
    const name = raw.split("=")[0]!;
    const type = known.get(name) ?? (long && name.startsWith("no-") ? known.get(name.slice(3)) : undefined);
    if (!type) {
      const s = suggest(name, [...known.keys()]);
      throw usage(`unknown flag ${a.split("=")[0]}`, { hint: s ? s.replace(/'/g, "'--") : "see --help" });
    }
    if (type === "string" && !raw.includes("=")) i++;
  }
}

async function help(name: CommandName): Promise<number> {
  const cmd = await load(name);
  out(await renderUsage(cmd));
  return Exit.ok;
}

function rootHelp(version: string): string {
  const rows = visibleCommands().map((n) => `  ${n.padEnd(10)} ${DESCRIPTIONS[n] ?? ""}`);
  return [
    `${c.bold("sessions")} ${version} — run autonomous coding-agent pipelines in tmux`,
    "",
    `${c.bold("USAGE")} sessions <command> [options]`,
    "",
    c.bold("COMMANDS"),
    ...rows,
    "",
    "Every reporting command takes --json. 'sessions <command> --help' for its options.",
    "Exit codes: 0 ok, 1 failed, 2 usage/invalid definition, 3 not found, 4 conflict, 5 missing dependency.",
  ].join("\n");
}

/** One-line descriptions for the root help, kept here so it does not load every command. */
const DESCRIPTIONS: Record<string, string> = {
  start: "start a stage or pipeline in tmux (or --foreground)",
  list: "every session: running, finished, crashed",
  status: "one session in detail",
  monitor: "peek at the live output",
  attach: "connect to the tmux session (read-only unless --write)",
  kill: "stop a session: agent, engine, tmux, lock",
  cleanup: "find and fix stale locks, orphaned tmux sessions, zombie states",
  resume: "continue a crashed, failed, killed or paused session",
  tail: "the event log, optionally followed",
  report: "what a session did and cost: Markdown or --json",
  watch: "full-screen live view of every session (a terminal only)",
  wait: "block until a session ends (exit 0 complete, 1 otherwise)",
  pause: "finish the running iteration, then hold",
  stages: "the stages you can start",
  pipelines: "the pipelines you can start",
  lint: "validate definitions",
  doctor: "check tmux, agent CLIs and the root",
  skill: "print or install the Claude Code skill",
  completion: "print the shell completion script (bash or zsh)",
  run: "the engine itself, in the foreground (what tmux runs)",
};

function suggest(name: string, options: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const d = distance(name, o);
    if (d < bestD) [best, bestD] = [o, d];
  }
  return best && bestD <= Math.max(2, Math.floor(name.length / 3)) ? `did you mean '${best}'?` : undefined;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

function report(e: unknown, asJson: boolean): number {
  let err: SessionsError;
  if (e instanceof SessionsError) err = e;
  else if (e instanceof Error && e.name === "CLIError") err = usage(Bun.stripANSI(e.message), { hint: "see --help" });
  else {
    const msg = e instanceof Error ? e.message : String(e);
    err = new SessionsError(msg, Exit.failed, process.env.DEBUG ? undefined : "set DEBUG=1 for the stack trace");
    if (process.env.DEBUG && e instanceof Error) log.error(e.stack);
  }
  if (asJson) json({ error: err.toJSON() });
  else {
    process.stderr.write(`${c.red("error")} ${err.display}\n`);
    if (err.hint) process.stderr.write(`  ${c.dim(err.hint)}\n`);
  }
  return err.exit;
}
