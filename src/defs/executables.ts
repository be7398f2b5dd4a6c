// Finding the programs a plan runs: the agent CLIs (SESSIONS_*_BIN first, then PATH), a command
// provider's program, a queue command; each to an absolute path at start, or exit 5 saying how to get it.
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { missingDep } from "../lib/errors.ts";
import { selfArgv, which } from "../lib/proc.ts";
import { TESTED_AGENTS } from "../lib/tested-agents.ts";

export const AGENT_ENV: Record<"claude" | "codex", string> = { claude: "SESSIONS_CLAUDE_BIN", codex: "SESSIONS_CODEX_BIN" };
/** A command word that means this very binary (for the fake agent: `${SESSIONS_BIN} _agent …`). */
export const SELF_WORD = "${SESSIONS_BIN}";

export function resolveAgent(name: "claude" | "codex"): string {
  const override = process.env[AGENT_ENV[name]];
  const found = override ? (isAbsolute(override) ? (existsSync(override) ? override : null) : which(override)) : which(name);
  if (found) return found;
  const pkg = TESTED_AGENTS[name].package;
  throw missingDep(`${name} is not installed (not found on PATH${override ? ` nor at ${AGENT_ENV[name]}=${override}` : ""})`, {
    hint: `install it with 'npm install -g ${pkg}', or set ${AGENT_ENV[name]} to its path`,
    details: { missing: name, install: `npm install -g ${pkg}` },
  });
}

/** A program named by a definition (`what` says which, for the error) to its absolute path. */
export function resolveExecutable(root: string, word: string, what: "command" | string = "command"): string {
  if (word === SELF_WORD) return selfArgv()[0]!;
  const found = word.includes("/") ? [isAbsolute(word) ? word : resolve(root, word)].find((p) => existsSync(p)) : which(word);
  if (found) return found;
  const queue = what !== "command";
  throw missingDep(`${queue ? `${what}: ` : "command "}${word} not found${word.includes("/") ? "" : " on PATH"}`, {
    hint: queue
      ? `install it${word === "bd" ? " (beads)" : ""}, or set termination.command in a project-local copy of the stage or in the pipeline node`
      : "install it or give the command's full path in the stage's 'command:' (or --command)",
    details: { missing: word },
  });
}
