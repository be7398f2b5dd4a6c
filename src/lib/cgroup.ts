// A cgroup (v2) per session where the kernel lets us make one. Every agent run gets a child cgroup;
// whatever it starts stays in it however it detaches (setsid, a double fork, a cleared environment),
// so ending the cgroup ends every descendant. Where there is no writable cgroup2 hierarchy (macOS,
// an unprivileged container) every function here is a no-op and process groups are all there is.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";

let base: string | null | undefined;

/** This process's own cgroup directory in the cgroup2 hierarchy, or null without one. */
function ownCgroup(): string | null {
  if (base !== undefined) return base;
  base = null;
  try {
    const mount = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" "))
      .find((f) => f[2] === "cgroup2")?.[1];
    const own = readFileSync("/proc/self/cgroup", "utf8")
      .split("\n")
      .find((l) => l.startsWith("0::"))
      ?.slice(3);
    if (mount && own !== undefined) base = join(mount, own);
  } catch {}
  return base;
}

/** Create the session's cgroup; its path (recorded in state.json) or null where cgroups cannot be made. */
export function createSessionCgroup(name: string): string | null {
  const own = ownCgroup();
  if (!own) return null;
  const dir = join(own, `sessions-${name}`);
  try {
    mkdirSync(dir, { recursive: true });
    if (existsSync(join(dir, "cgroup.kill")) && canJoin(dir)) return dir;
  } catch {}
  removeCgroup(dir);
  return null;
}

/**
 * Whether a process can move itself into a child of `dir`, as every agent will: a cgroup that can be
 * made may still refuse members (controllers enabled above it, no delegation). Tried once per engine.
 */
function canJoin(dir: string): boolean {
  const probe = join(dir, "probe");
  mkdirSync(probe, { recursive: true });
  const r = Bun.spawnSync(inCgroup(probe, ["true"]), { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  removeCgroup(probe);
  return r.exitCode === 0;
}

let children = 0;

/** A new, empty child cgroup of the session's for one process to join; null when that is not possible. */
export function childCgroup(session: string | null): string | null {
  if (!session) return null;
  const dir = join(session, `p${process.pid}-${++children}`);
  try {
    mkdirSync(dir, { recursive: true });
    return dir;
  } catch {
    return null;
  }
}

/**
 * The argv that runs `argv` inside `cgroup`: a shell moves itself there and then execs the program,
 * so the program and everything it starts are inside from their first instruction (no race).
 */
export function inCgroup(cgroup: string | null, argv: string[]): string[] {
  return cgroup ? ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...argv] : argv;
}

/** The pids still in a cgroup and its children. */
export function members(dir: string | null): number[] {
  if (!dir) return [];
  const out: number[] = [];
  try {
    for (const l of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) if (l) out.push(Number(l));
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...members(join(dir, e.name)));
  } catch {}
  return out;
}

/** SIGKILL everything in a cgroup's subtree (the kernel's cgroup.kill), wait for it to empty, remove it. */
export async function killCgroup(dir: string | null, timeoutMs = 2000): Promise<number> {
  if (!dir || !existsSync(dir)) return 0;
  const n = members(dir).length;
  try {
    if (n) appendFileSync(join(dir, "cgroup.kill"), "1");
  } catch {}
  const deadline = Date.now() + timeoutMs;
  while (members(dir).length && Date.now() < deadline) await Bun.sleep(10);
  removeCgroup(dir);
  return n;
}

/** Remove a cgroup and its (empty) children, deepest first; a busy one stays. */
function removeCgroup(dir: string): void {
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroup(join(dir, e.name));
    rmdirSync(dir);
  } catch {}
}
