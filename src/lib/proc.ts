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

/** Alive and the same process that was recorded (not a reused pid). */
export function isSameProcess(pid: number | null | undefined, start: string | null | undefined): boolean {
  if (!pid || !isAlive(pid)) return false;
  if (!start) return true;
  const now = pidStart(pid);
  return now === null || now === start;
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
 * Whether any process of the group still runs. Zombies do not count: where PID 1 reaps lazily
 * (containers), a killed child lingers as a zombie that kill(-pgid, 0) still reports.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  let pids: string[];
  try {
    pids = readdirSync("/proc");
  } catch {
    return true;
  }
  for (const pid of pids) {
    if (pid.charCodeAt(0) > 57) continue;
    const fields = procStat(Number(pid));
    if (fields && Number(fields[2]) === pgid && !isZombie(fields)) return true;
  }
  return false;
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

/** TERM the group, then KILL it if it is still there after `graceMs`. */
export async function stopGroup(pgid: number, graceMs = 3000): Promise<boolean> {
  if (!killGroup(pgid, "SIGTERM")) return false;
  const gone = await waitFor(() => !groupAlive(pgid), graceMs, 20);
  if (!gone) killGroup(pgid, "SIGKILL");
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
