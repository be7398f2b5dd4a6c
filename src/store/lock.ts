import { linkSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import * as v from "valibot";
import { conflict } from "../lib/errors.ts";
import { isSameProcess, pidStart, selfName } from "../lib/proc.ts";
import { ensureIgnoredDir, readText, writeAtomic } from "./fsx.ts";

export const LockSchema = v.looseObject({
  session: v.string(),
  pid: v.pipe(v.number(), v.integer()),
  pid_start: v.nullish(v.string(), null),
  host: v.string(),
  started_at: v.string(),
  version: v.string(),
});
export type Lock = v.InferOutput<typeof LockSchema>;

export type LockView =
  | { state: "none" }
  | { state: "live"; lock: Lock }
  | { state: "stale"; lock: Lock; why: string }
  | { state: "unreadable"; why: string };

const HOST = hostname();

export function makeLock(session: string, pid = process.pid): Lock {
  return {
    session,
    pid,
    pid_start: pidStart(pid),
    host: HOST,
    started_at: new Date().toISOString(),
    version: process.env.SESSIONS_VERSION ?? "dev",
  };
}

export function parseLock(text: string): Lock | null {
  try {
    const r = v.safeParse(LockSchema, JSON.parse(text));
    return r.success ? r.output : null;
  } catch {
    return null;
  }
}

export function readLock(path: string): LockView {
  const text = readText(path);
  if (text === null) return { state: "none" };
  const lock = parseLock(text);
  if (!lock) return { state: "unreadable", why: "not a valid lock file" };
  return classify(lock);
}

export function classify(lock: Lock): LockView {
  if (lock.host !== HOST) return { state: "live", lock }; // cannot see another host's processes: assume alive
  if (isSameProcess(lock.pid, lock.pid_start)) return { state: "live", lock };
  return { state: "stale", lock, why: pidStart(lock.pid) ? "pid reused by another process" : "process is gone" };
}

/**
 * Exclusive create: the full lock is written to a private temp file, then hard-linked to its name.
 * link(2) fails when the name exists, so of N racing callers exactly one wins, and no reader ever
 * sees a half-written lock.
 */
function tryCreate(path: string, lock: Lock): boolean {
  ensureIgnoredDir(dirname(path));
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, JSON.stringify(lock));
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    unlinkSync(tmp);
  }
}

export interface AcquireOptions {
  /** Take over a stale lock (dead or reused pid). A live lock is never taken. */
  takeStale?: boolean;
  pid?: number;
}

export function acquireLock(path: string, session: string, opts: AcquireOptions = {}): Lock {
  const lock = makeLock(session, opts.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path, lock)) return lock;
    const seen = readLock(path);
    if (seen.state === "none") continue; // released between our create and our read
    if (seen.state === "live") throw held(session, seen.lock);
    if (!opts.takeStale) {
      const what = seen.state === "stale" ? `a stale lock (pid ${seen.lock.pid}, ${seen.why})` : `an unreadable lock file`;
      throw conflict(`session ${session} has ${what}`, {
        hint: `run '${selfName()} cleanup --yes' to remove it, or pass --force`,
        details: { lock: path },
      });
    }
    removeStale(path, seen.state === "stale" ? seen.lock : null);
  }
  throw conflict(`could not take the lock of session ${session}: it keeps changing`, { hint: "another start is racing this one" });
}

export function held(session: string, lock: Lock) {
  return conflict(`session ${session} is running (engine pid ${lock.pid} on ${lock.host}, since ${lock.started_at})`, {
    hint: `see it with '${selfName()} status ${session}', stop it with '${selfName()} kill ${session}'`,
    details: { holder: { pid: lock.pid, host: lock.host, started_at: lock.started_at } },
  });
}

/**
 * Remove a stale lock without ever removing a live one that replaced it: move it aside (only one
 * racer can), check that what was moved is the stale lock we judged, and put it back otherwise.
 */
export function removeStale(path: string, judged: Lock | null): boolean {
  const aside = `${path}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    renameSync(path, aside);
  } catch {
    return false;
  }
  const moved = parseLock(readText(aside) ?? "");
  const same = judged === null ? moved === null : moved?.pid === judged.pid && moved?.pid_start === judged.pid_start;
  if (!same && moved && classify(moved).state === "live") {
    try {
      linkSync(aside, path);
    } catch {}
  }
  unlinkSync(aside);
  return same;
}

/** Hand the lock from the process that took it (`start`) to the engine. */
export function transferLock(path: string, session: string, fromPid: number, toPid = process.pid): Lock {
  const seen = readLock(path);
  const owner = seen.state === "live" || seen.state === "stale" ? seen.lock : null;
  if (!owner || owner.pid !== fromPid) {
    if (owner && owner.pid === toPid) return owner;
    if (seen.state === "live") throw held(session, seen.lock);
    throw conflict(`the lock of session ${session} was not handed over (expected pid ${fromPid})`);
  }
  const lock = makeLock(session, toPid);
  writeAtomic(path, JSON.stringify(lock));
  return lock;
}

/** Remove the lock only if `pid` holds it. */
export function releaseLock(path: string, pid = process.pid): boolean {
  const seen = readLock(path);
  if (seen.state === "none" || seen.state === "unreadable") return false;
  if (seen.lock.pid !== pid) return false;
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}
