import { readdirSync, readFileSync } from "node:fs";

/**
 * The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses):
 * [0] state, [2] process group, [19] start time. null where there is no such process or no /proc.
 */
export function procStat(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** Dead but not reaped: where PID 1 (or tmux 3.3 for a SIGKILLed pane) reaps lazily, it lingers. */
const isZombie = (fields: string[] | null) => fields?.[0] === "Z" || fields?.[0] === "X";

/**
 * kill(pid, 0): EPERM means the process exists but is not ours, which still counts as alive.
 * A zombie answers too, so Linux's /proc state decides.
 */
export function isAlive(pid: number | null | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return !isZombie(procStat(pid));
}

/**
 * A process's start time as an opaque string, to tell a live pid from a reused one.
 * Linux: field 22 of /proc/<pid>/stat (clock ticks since boot); elsewhere `ps -o lstart=`.
 */
export function pidStart(pid: number): string | null {
  const fields = procStat(pid);
  if (fields) return fields[19] ?? null;
  if (process.platform === "linux") return null;
  const r = Bun.spawnSync(["ps", "-o", "lstart=", "-p", String(pid)], { stderr: "ignore" });
  const out = r.stdout.toString().trim();
  return r.exitCode === 0 && out ? out : null;
}

/**
 * What became of a process recorded with its start time: it still runs (`same`), exited but is not
 * reaped yet (`exited`), is gone, or its pid now belongs to another process (`reused`). Without a
 * recorded start time a live pid cannot be told from a reused one (`unverified`).
 */
export type ProcessCheck = "same" | "exited" | "gone" | "reused" | "unverified";

export function checkProcess(pid: number | null | undefined, start: string | null | undefined): ProcessCheck {
  if (!pid || pid <= 0) return "gone";
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return "gone";
  }
  if (isZombie(procStat(pid))) return "exited";
  if (!start) return "unverified";
  const now = pidStart(pid);
  return now === null || now === start ? "same" : "reused";
}

/** Alive and the same process that was recorded (not a reused pid); with no start time recorded, alive. */
export function isSameProcess(pid: number | null | undefined, start: string | null | undefined): boolean {
  const c = checkProcess(pid, start);
  return c === "same" || c === "unverified";
}

/** Signal a whole process group; false when it no longer exists. */
export function killGroup(pgid: number, signal: NodeJS.Signals = "SIGTERM"): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * The processes of a group that still run, from one scan of /proc; null where there is no /proc
 * (macOS). Zombies do not count: where PID 1 reaps lazily (containers), a killed child lingers as a
 * zombie that kill(-pgid, 0) still reports.
 */
export function groupMembers(pgid: number): number[] | null {
  return processes()?.filter((p) => p.pgid === pgid && !p.zombie).map((p) => p.pid) ?? null;
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  start: string;
  zombie: boolean;
}

/** Every process, from the one scan of /proc; null where there is none (macOS). */
export function processes(): ProcInfo[] | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  const out: ProcInfo[] = [];
  for (const e of entries) {
    if (e.charCodeAt(0) > 57) continue;
    const f = procStat(Number(e));
    if (f) out.push({ pid: Number(e), ppid: Number(f[1]), pgid: Number(f[2]), start: f[19] ?? "", zombie: isZombie(f) });
  }
  return out;
}

/**
 * What an agent started outside its process group (Claude Code and Codex run each command in a
 * session of its own), followed by parent pid while the agent runs, for where there is no cgroup to
 * hold them: a process whose parent died before it was seen is out of reach.
 */
export class Descendants {
  private known = new Map<number, string>();
  constructor(private readonly leader: number) {}

  refresh(): void {
    const all = processes();
    if (!all) return;
    const children = new Map<number, ProcInfo[]>();
    for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
    // From the agent and from every tracked process still running: an orphan's children are still its own.
    const queue = [this.leader, ...this.alive(false)];
    const seen = new Set(queue);
    for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
      for (const c of children.get(pid) ?? []) {
        this.known.set(c.pid, c.start);
        if (!seen.has(c.pid)) {
          seen.add(c.pid);
          queue.push(c.pid);
        }
      }
    }
  }

  /** Tracked processes still running as themselves (outside the agent's group, unless `outsideOnly` is false). */
  alive(outsideOnly = true): number[] {
    const out: number[] = [];
    for (const [pid, start] of this.known) {
      const f = procStat(pid);
      if (!f || f[19] !== start || isZombie(f)) this.known.delete(pid);
      else if (!outsideOnly || Number(f[2]) !== this.leader) out.push(pid);
    }
    return out;
  }

  /** Each one and the group it leads: SIGTERM, up to `graceMs`, then SIGKILL. */
  async stop(graceMs: number): Promise<void> {
    const signal = (sig: NodeJS.Signals) => {
      for (const pid of this.alive()) {
        if (Number(procStat(pid)?.[2]) === pid) killGroup(pid, sig);
        try {
          process.kill(pid, sig);
        } catch {}
      }
    };
    if (!this.alive().length) return;
    signal("SIGTERM");
    if (!(await waitFor(() => !this.alive().length, graceMs, 25))) signal("SIGKILL");
  }
}

/** Whether a process's environment holds `entry` (`NAME=value`); false when it cannot be read. */
export function hasEnv(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(entry);
  } catch {
    return false;
  }
}

/** Whether any process of the group still runs (zombies do not count). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  const members = groupMembers(pgid);
  return members === null || members.length > 0;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `check` until it is truthy or `ms` runs out. */
export async function waitFor<T>(check: () => T | Promise<T>, ms: number, every = 10): Promise<T | undefined> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (performance.now() >= deadline) return undefined;
    await sleep(every);
  }
}

/**
 * The one way a process group is stopped: SIGTERM, up to `graceMs` for it to end, then SIGKILL and
 * up to a second more for the kernel to take it down. False when the group did not exist.
 */
export async function stopGroup(pgid: number, graceMs = 3000): Promise<boolean> {
  if (!groupAlive(pgid) || !killGroup(pgid, "SIGTERM")) return false;
  if (!(await waitFor(() => !groupAlive(pgid), graceMs, 20))) {
    killGroup(pgid, "SIGKILL");
    await waitFor(() => !groupAlive(pgid), 1000, 20);
  }
  return true;
}

/** The argv that runs this program again: the compiled binary, or `bun src/cli.ts` in development. */
export function selfArgv(): string[] {
  if (isCompiled()) return [process.execPath];
  return [process.execPath, Bun.main];
}

let name: string | undefined;
/**
 * How hints name this program: argv[0] as the user typed it (`sessions`, `./scripts/sessions`), so
 * that a hint copied into the same shell runs the same binary. Bun replaces argv[0] with "bun";
 * Linux keeps the typed one in /proc/self/cmdline. Elsewhere, and in development, "sessions".
 */
export function selfName(): string {
  if (name !== undefined) return name;
  let typed = "";
  if (isCompiled()) {
    try {
      typed = readFileSync("/proc/self/cmdline", "utf8").split("\0")[0] ?? "";
    } catch {}
  }
  return (name = typed && !/\s/.test(typed) ? typed : "sessions");
}

export function isCompiled(): boolean {
  return Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");
}

/** An executable on PATH (or a path) resolved to an absolute path, or null. */
export function which(bin: string, path = process.env.PATH): string | null {
  return Bun.which(bin, { PATH: path ?? "" });
}
