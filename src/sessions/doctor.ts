/** `doctor`: what this machine and this root need to run sessions, each finding with its fix. */
import { accessSync, constants, existsSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { listDefinitions, readSource } from "../defs/find.ts";
import { AGENT_ENV } from "../defs/executables.ts";
import { which } from "../lib/proc.ts";
import { TESTED_AGENTS } from "../lib/tested-agents.ts";
import { resolveRoot, rootPaths } from "../store/paths.ts";
import { tmux, tmuxBin } from "../tmux.ts";
import { overview } from "./overview.ts";

export interface Check {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  fix: string | null;
}

export interface DoctorReport {
  root: string;
  checks: Check[];
}

const ok = (name: string, detail: string): Check => ({ name, status: "ok", detail, fix: null });
const warn = (name: string, detail: string, fix: string): Check => ({ name, status: "warn", detail, fix });
const fail = (name: string, detail: string, fix: string): Check => ({ name, status: "fail", detail, fix });

/** `rootFlag` is the --root given, if any: the report says how the root was chosen. */
export function doctor(rootFlag?: string): DoctorReport {
  const root = resolveRoot(rootFlag);
  const rootFrom = rootFlag ? "--root" : process.env.SESSIONS_ROOT ? "$SESSIONS_ROOT" : existsSync(join(root, ".git")) ? "git top-level" : "current directory";
  const usage = providerUsage(root);
  const checks = [checkTmux(), ...(["claude", "codex"] as const).map((p) => checkAgent(p, usage)), ...checkQueues(usage)];
  const claudeWanted = !!usage.providers.get("claude")?.length || !!agentBin("claude");
  if (process.getuid?.() === 0 && claudeWanted) {
    checks.push(
      process.env.IS_SANDBOX === "1"
        ? ok("root-user", "running as root with IS_SANDBOX=1: claude accepts --dangerously-skip-permissions")
        : warn("root-user", "running as root: claude refuses --dangerously-skip-permissions as root", "run as a normal user, or set IS_SANDBOX=1 inside a container or sandbox"),
    );
  }
  checks.push(definitions(usage), checkRoot(root, rootFrom), checkGit(root), checkSessions(root));
  return { root, checks };
}

function checkTmux(): Check {
  const bin = tmuxBin();
  if (!bin) return fail("tmux", "tmux is not on PATH", "install it (apt-get install tmux / brew install tmux), or start sessions with --foreground");
  const out = tmux(["-V"]).stdout.trim();
  const m = /(\d+)\.(\d+)/.exec(out);
  if (m && Number(m[1]) < 3) return warn("tmux", `${out} at ${bin}`, "upgrade tmux to 3.0 or newer");
  return ok("tmux", `${out || "tmux (version unknown)"} at ${bin}`);
}

function agentBin(name: "claude" | "codex"): string | null {
  return which(process.env[AGENT_ENV[name]] || name);
}

const install = (name: "claude" | "codex") => `npm install -g ${TESTED_AGENTS[name].package}`;

function checkAgent(name: "claude" | "codex", usage: Usage): Check {
  const env = AGENT_ENV[name];
  const users = usage.providers.get(name) ?? [];
  const usedBy = users.length ? `used by ${list(users)}` : "no visible definition uses it";
  const bin = agentBin(name);
  if (bin) return ok(name, `${bin}${version(name, bin)}; ${usedBy}`);
  const where = process.env[env] ? `${env}=${process.env[env]} is not an executable` : `${name} is not on PATH`;
  if (!users.length) return ok(name, `${where}; ${usedBy}`);
  return warn(name, `${where}; ${usedBy}`, `${install(name)}, or point ${env} at it`);
}

/** `--version` of an agent CLI beside the version the tests cover, bounded: a broken install must not hang doctor. */
function version(name: "claude" | "codex", bin: string): string {
  const tested = TESTED_AGENTS[name].version;
  const r = Bun.spawnSync([bin, "--version"], { stdin: "ignore", stdout: "pipe", stderr: "ignore", timeout: 5000 });
  const v = r.exitCode === 0 ? r.stdout.toString().trim().split("\n")[0] : "";
  if (!v) return ` (version unknown), tested with ${tested}`;
  return v.split(/[^\d.]+/).includes(tested) ? ` (${v}), the tested version` : ` (${v}), tested with ${tested}`;
}

function checkQueues(usage: Usage): Check[] {
  const needed = new Map(usage.queues);
  // bd is the queue of the built-in ralph stage: always say whether it is there.
  if (!needed.has("bd")) needed.set("bd", []);
  return [...needed].map(([cmd, users]) => {
    const bin = which(cmd);
    const usedBy = users.length ? `queue of ${list(users)}` : "no visible queue stage uses it";
    if (bin) return ok(cmd, `${bin}; ${usedBy}`);
    if (!users.length) return ok(cmd, `not on PATH; ${usedBy}`);
    return warn(cmd, `${cmd} is not on PATH; ${usedBy}`, cmd === "bd" ? "install beads (bd), or override termination.command in a project-local copy of the stage" : `install ${cmd} or change termination.command`);
  });
}

function definitions(usage: Usage): Check {
  const counts = [...usage.providers].map(([p, users]) => `${p} ${users.length}`).join(", ");
  const detail = `${usage.count} definitions${counts ? ` (providers: ${counts})` : ""}`;
  if (usage.broken.length) return warn("definitions", `${detail}; not parseable: ${list(usage.broken)}`, "sessions lint");
  return ok("definitions", detail);
}

function checkRoot(root: string, from: string): Check {
  const claude = rootPaths(root).claude;
  const target = existsSync(claude) ? claude : root;
  try {
    accessSync(target, constants.W_OK);
  } catch {
    return fail("root", `${root} (${from}): ${target} is not writable`, "fix its permissions, or pick another root with --root");
  }
  return ok("root", `${root} (${from}); ${target === claude ? ".claude/ is writable" : ".claude/ will be created"}`);
}

function checkGit(root: string): Check {
  const git = which("git");
  const repo = existsSync(join(root, ".git"));
  if (repo && !git) return warn("git", "a git repository, but git is not on PATH", "install git: parallel blocks need it for worktrees");
  if (!repo) return warn("git", "not a git repository: parallel providers share the root instead of their own worktrees", "git init (and commit), if the agents should work in isolation");
  return ok("git", "git repository: parallel providers work in their own worktrees");
}

function checkSessions(root: string): Check {
  const { rows } = overview(root);
  const bad = rows.filter((r) => r.status === "crashed" || r.status === "orphaned" || r.status === "unreadable" || r.note.includes("stale lock"));
  const running = rows.filter((r) => r.status === "running" || r.status === "paused").length;
  const detail = `${rows.length} sessions, ${running} running`;
  if (bad.length) return warn("sessions", `${detail}; needing attention: ${list(bad.map((r) => `${r.session} (${r.status})`))}`, "sessions cleanup (reports first; --yes fixes)");
  return ok("sessions", detail);
}

const list = (xs: string[]) => (xs.length > 6 ? `${xs.slice(0, 6).join(", ")} and ${xs.length - 6} more` : xs.join(", "));

interface Usage {
  count: number;
  providers: Map<string, string[]>;
  /** First word of each queue command → the stages that run it. */
  queues: Map<string, string[]>;
  broken: string[];
}

/** Which providers and queue commands the visible definitions use: a cheap parse, not a validation. */
function providerUsage(root: string): Usage {
  const u: Usage = { count: 0, providers: new Map(), queues: new Map(), broken: [] };
  const add = (m: Map<string, string[]>, key: unknown, who: string) => {
    // A variable (${SESSIONS_BIN}) is resolved at start, not a program to look for.
    if (typeof key !== "string" || !key || key.includes("${")) return;
    const users = m.get(key) ?? [];
    if (!users.includes(who)) users.push(who);
    m.set(key, users);
  };
  for (const d of listDefinitions(root)) {
    if (d.shadowed) continue;
    u.count++;
    let data: Record<string, any>;
    try {
      data = parse(readSource(d.source) ?? "") ?? {};
    } catch {
      u.broken.push(d.name);
      continue;
    }
    if (typeof data !== "object") continue;
    if (d.kind === "stage") {
      add(u.providers, data.provider ?? "claude", d.name);
      const t = data.termination ?? {};
      if (t.judge) add(u.providers, t.judge.provider ?? "claude", d.name);
      // A queue stage that names no command uses bd's (resolve.ts DEFAULT_QUEUE).
      if (t.type === "queue" || data.completion === "beads-empty") add(u.queues, typeof t.command === "string" ? t.command.trim().split(/\s+/)[0] : "bd", d.name);
      continue;
    }
    const nodes = Array.isArray(data.nodes) ? data.nodes : Array.isArray(data.stages) ? data.stages : [];
    for (const n of nodes) {
      if (!n || typeof n !== "object") continue;
      add(u.providers, n.provider, d.name);
      for (const p of Array.isArray(n.parallel?.providers) ? n.parallel.providers : []) add(u.providers, typeof p === "string" ? p : p?.provider, d.name);
    }
  }
  return u;
}
