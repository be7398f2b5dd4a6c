import { linkSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import * as v from "valibot";
import { conflict, failed } from "../lib/errors.ts";
import { checkProcess, pidStart, selfName } from "../lib/proc.ts";
import { ensureIgnoredDir, readText, writeAtomic } from "./fsx.ts";

export const LockSchema = v.looseObject({
  session: v.string(),
  pid: v.pipe(v.number(), v.integer()),
  pid_start: v.nullish(v.string(), null),
  host: v.string(),
  started_at: v.string(),
  version: v.string(),
  /** Who holds it: the engine, or a start, resume or cleanup at work (locks without it are engines'). */
  holder: v.optional(v.picklist(["engine", "start", "resume", "cleanup"]), "engine"),
  /** Why its engine stopped, when it could not write that into state.json (a full disk): kept, stale, for status to show. */
  error: v.optional(v.string()),
});
export type Lock = v.InferOutput<typeof LockSchema>;
export type Holder = Lock["holder"];

export type LockView =
  | { state: "none" }
  | { state: "live"; lock: Lock }
  | { state: "stale"; lock: Lock; why: string }
  /** Its owner cannot be checked from this host: never taken by itself, cleared by kill or cleanup after asking. */
  | { state: "unverifiable"; lock: Lock; why: string }
  | { state: "unreadable"; why: string };

/** The lock a view shows, whoever holds it. */
export const lockOf = (l: LockView): Lock | null => ("lock" in l ? l.lock : null);
/** Nobody verifiably holds it: kill and cleanup may remove it (an unverifiable one only after asking). */
export const removable = (l: LockView) => l.state === "stale" || l.state === "unreadable" || l.state === "unverifiable";

const HOST = hostname();

export function makeLock(session: string, pid = process.pid, holder: Holder = "engine"): Lock {
  return {
    session,
    pid,
    pid_start: pidStart(pid),
    host: HOST,
    started_at: new Date().toISOString(),
    version: process.env.SESSIONS_VERSION ?? "dev",
    holder,
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
  const text = readLocked(path);
  if (text === null) return { state: "none" };
  const lock = parseLock(text);
  if (!lock) return { state: "unreadable", why: "not a valid lock file" };
  return classify(lock);
}

/** Liveness from what this host can check: the pid and its start time, on this host only. */
export function classify(lock: Lock): LockView {
  if (lock.host !== HOST) {
    return { state: "unverifiable", lock, why: `taken on host ${lock.host}, this is ${HOST}: its pid cannot be checked from here` };
  }
  switch (checkProcess(lock.pid, lock.pid_start)) {
    case "same":
      return { state: "live", lock };
    case "unverified":
      return { state: "unverifiable", lock, why: `no pid_start: pid ${lock.pid} runs, but may be another process now` };
    case "reused":
      return { state: "stale", lock, why: "pid reused by another process" };
    case "exited":
      return { state: "stale", lock, why: "process has exited" };
    case "gone":
      return { state: "stale", lock, why: "process is gone" };
  }
}

/** `.claude/locks` that is a file or a dangling link is said in one line, not as a raw errno. */
function locksDirError(path: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== "ENOTDIR" && code !== "EEXIST" && code !== "ENOENT" && code !== "ELOOP") return e as Error;
  return failed(`${dirname(path)} is not a directory (${code}): session locks cannot be read or written`, {
    hint: `move it away (it is where sessions keeps its locks); 'mkdir -p ${dirname(path)}' after`,
  });
}

function readLocked(path: string): string | null {
  try {
    return readText(path);
  } catch (e) {
    throw locksDirError(path, e);
  }
}

/**
 * Exclusive create: the full lock is written to a private temp file, then hard-linked to its name.
 * link(2) fails when the name exists, so of N racing callers exactly one wins, and no reader ever
 * sees a half-written lock.
 */
function tryCreate(path: string, lock: Lock): boolean {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    ensureIgnoredDir(dirname(path));
    writeFileSync(tmp, JSON.stringify(lock));
  } catch (e) {
    throw locksDirError(path, e);
  }
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
  /** Who takes it (default the engine): a start or resume hands it to its engine, cleanup lets it go. */
  holder?: Holder;
}

export function acquireLock(path: string, session: string, opts: AcquireOptions = {}): Lock {
  const lock = makeLock(session, opts.pid, opts.holder);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path, lock)) return lock;
    const seen = readLock(path);
    if (seen.state === "none") continue; // released between our create and our read
    if (seen.state === "live") throw held(session, seen.lock);
    if (seen.state === "unverifiable") throw unverifiable(session, seen.lock, seen.why);
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

function unverifiable(session: string, lock: Lock, why: string) {
  return conflict(`session ${session} is locked by pid ${lock.pid} on ${lock.host}, which cannot be verified (${why})`, {
    hint: `if no engine of it runs anymore, '${selfName()} kill ${session}' or '${selfName()} cleanup --yes' clears the lock (both ask first)`,
    details: { holder: { pid: lock.pid, host: lock.host, started_at: lock.started_at }, lock: why },
  });
}

const DOING: Record<Holder, string> = { engine: "running", start: "being started", resume: "being resumed", cleanup: "being cleaned up" };

export function held(session: string, lock: Lock) {
  const who = lock.holder === "engine" ? "engine pid" : `'${selfName()} ${lock.holder}' pid`;
  return conflict(`session ${session} is ${DOING[lock.holder]} (${who} ${lock.pid} on ${lock.host}, since ${lock.started_at})`, {
    hint: `see it with '${selfName()} status ${session}', stop it with '${selfName()} kill ${session}'`,
    details: { holder: { pid: lock.pid, host: lock.host, started_at: lock.started_at, by: lock.holder } },
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
  const owner = lockOf(seen);
  if (!owner || owner.pid !== fromPid) {
    if (owner && owner.pid === toPid) return owner;
    if (seen.state === "live") throw held(session, seen.lock);
    throw conflict(`the lock of session ${session} was not handed over (expected pid ${fromPid})`);
  }
  const lock = makeLock(session, toPid);
  writeAtomic(path, JSON.stringify(lock));
  return lock;
}

/**
 * The engine's last word when state.json cannot be written: the lock it holds is rewritten in place
 * (no temp file: there may be no room for one) with the error, and kept. False when that failed too.
 */
export function keepWithError(path: string, message: string, pid = process.pid): boolean {
  const owner = lockOf(readLock(path));
  if (owner?.pid !== pid) return false;
  try {
    writeFileSync(path, JSON.stringify({ ...owner, error: message.slice(0, 500) }));
    return true;
  } catch {
    return false;
  }
}

/** Remove the lock only if `pid` holds it. */
export function releaseLock(path: string, pid = process.pid): boolean {
  const owner = lockOf(readLock(path));
  if (owner?.pid !== pid) return false;
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}
