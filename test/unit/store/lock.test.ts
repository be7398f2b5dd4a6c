import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { acquireLock, keepWithError, lockOf, makeLock, readLock, releaseLock, removeStale, transferLock } from "../../../src/store/lock.ts";
import { tempRoot, until } from "../../helpers.ts";

const lockAt = (dir: string) => join(dir, "locks", "s.lock");

describe("lock", () => {
  test("exclusive create writes the whole lock", () => {
    using root = tempRoot({ git: false });
    const lock = acquireLock(lockAt(root.path), "s");
    expect(lock.pid).toBe(process.pid);
    expect(JSON.parse(readFileSync(lockAt(root.path), "utf8"))).toEqual(lock);
    expect(readLock(lockAt(root.path)).state).toBe("live");
  });

  test("a live lock is never taken, even when asked to take stale ones", () => {
    using root = tempRoot({ git: false });
    acquireLock(lockAt(root.path), "s");
    expect(() => acquireLock(lockAt(root.path), "s", { takeStale: true })).toThrow(/is running/);
    try {
      acquireLock(lockAt(root.path), "s");
    } catch (e) {
      expect((e as { exit: number }).exit).toBe(4);
    }
  });

  test("an exited, unreaped process is stale because it exited, not because its pid was reused", async () => {
    using root = tempRoot({ git: false });
    // The child exits after its shell became `sleep`, which never reaps it: a zombie while sleep runs.
    const p = Bun.spawn(["sh", "-c", "sleep 0.2 & echo $!; exec sleep 30"], { stdout: "pipe" });
    try {
      const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
      const zombie = Number(new TextDecoder().decode((await reader.read()).value).trim());
      await until(() => readFileSync(`/proc/${zombie}/stat`, "utf8").includes(") Z"), 5000, "the child to become a zombie");
      mkdirSync(join(root.path, "locks"));
      writeFileSync(lockAt(root.path), JSON.stringify(makeLock("s", zombie)));
      expect(readLock(lockAt(root.path))).toMatchObject({ state: "stale", why: "process has exited" });
    } finally {
      p.kill("SIGKILL");
    }
  });

  test("another host's lock, or one without pid_start, is unverifiable: never taken, even with takeStale", () => {
    using root = tempRoot({ git: false });
    mkdirSync(join(root.path, "locks"));
    for (const odd of [{ host: "elsewhere" }, { pid_start: null }]) {
      writeFileSync(lockAt(root.path), JSON.stringify({ ...makeLock("s"), ...odd }));
      expect(readLock(lockAt(root.path)).state).toBe("unverifiable");
      expect(() => acquireLock(lockAt(root.path), "s", { takeStale: true })).toThrow(/cannot be verified/);
    }
  });

  test("a dead pid is stale: refused without takeStale, replaced with it", () => {
    using root = tempRoot({ git: false });
    const path = lockAt(root.path);
    acquireLock(path, "s", { pid: 999_999 });
    const seen = readLock(path);
    expect(seen.state).toBe("stale");
    expect(() => acquireLock(path, "s")).toThrow(/stale lock/);
    const mine = acquireLock(path, "s", { takeStale: true });
    expect(mine.pid).toBe(process.pid);
  });

  test("a reused pid (alive, other start time) is stale", () => {
    using root = tempRoot({ git: false });
    const path = lockAt(root.path);
    acquireLock(path, "s");
    const reused = { ...makeLock("s"), pid_start: "1" };
    writeFileSync(path, JSON.stringify(reused));
    const seen = readLock(path);
    expect(seen.state).toBe("stale");
    if (seen.state === "stale") expect(seen.why).toContain("reused");
  });

  test("garbage is unreadable, and only taken with takeStale", () => {
    using root = tempRoot({ git: false });
    const path = lockAt(root.path);
    acquireLock(path, "s");
    writeFileSync(path, "{half");
    expect(readLock(path).state).toBe("unreadable");
    expect(() => acquireLock(path, "s")).toThrow(/unreadable/);
    expect(acquireLock(path, "s", { takeStale: true }).pid).toBe(process.pid);
  });

  test("removeStale puts back a lock that turned live meanwhile", () => {
    using root = tempRoot({ git: false });
    const path = lockAt(root.path);
    const judged = acquireLock(path, "s", { pid: 999_999 });
    releaseLock(path, 999_999);
    acquireLock(path, "s");
    expect(removeStale(path, judged)).toBe(false);
    expect(readLock(path).state).toBe("live");
  });

  test("release only by the holder; transfer from start to engine", () => {
    using root = tempRoot({ git: false });
    const path = lockAt(root.path);
    acquireLock(path, "s", { pid: 999_999 });
    expect(releaseLock(path)).toBe(false);
    expect(existsSync(path)).toBe(true);
    const moved = transferLock(path, "s", 999_999);
    expect(moved.pid).toBe(process.pid);
    expect(() => transferLock(path, "s", 12345, 999_998)).toThrow(/running/);
    expect(releaseLock(path)).toBe(true);
    expect(existsSync(path)).toBe(false);
  });
});

test("an engine that cannot write its state keeps its lock with the error; another pid cannot", () => {
  using root = tempRoot({ git: false });
  const path = join(root.path, "locks", "s.lock");
  acquireLock(path, "s");
  expect(keepWithError(path, "engine error: ENOSPC", process.pid + 1)).toBe(false);
  expect(keepWithError(path, "engine error: ENOSPC")).toBe(true);
  expect(lockOf(readLock(path))).toMatchObject({ session: "s", pid: process.pid, error: "engine error: ENOSPC" });
});
