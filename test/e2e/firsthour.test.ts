/** A new user's first hour (issue 13): mistakes are refused by name, pipes end quietly, hints work. */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { rootTag } from "../../src/lib/names.ts";
import { BIN, cleanEnv, fakeStage, privateTmux, readJson, runDir, sessions, tempRoot, until } from "../helpers.ts";

const server = privateTmux();
afterAll(() => server.kill());

const run = (root: string, args: string[], env?: Record<string, string | undefined>) => sessions([...args, "--root", root], { tmux: server.dir, env });
const state = (root: string, s: string) => readJson(join(runDir(root, s), "state.json"));

/** `sessions <args> | <reader>` in bash: what sessions printed on stderr and its own exit code. */
async function piped(args: string[], reader: string, cwd: string) {
  const script = `"$0" "$@" 2>"${cwd}/.stderr" | ${reader} >/dev/null; echo "\${PIPESTATUS[0]}"`;
  const p = Bun.spawn(["bash", "-c", script, BIN, ...args], { cwd, env: cleanEnv({ TMUX_TMPDIR: server.dir }), stdout: "pipe", stderr: "pipe" });
  const code = Number((await new Response(p.stdout).text()).trim());
  await p.exited;
  return { code, stderr: readFileSync(join(cwd, ".stderr"), "utf8") };
}

describe("mistakes are refused, named, exit 2", () => {
  const root = tempRoot();
  fakeStage(root.path, "quick", { script: "stop" });
  afterAll(() => root[Symbol.dispose]());

  test("a typo of a command or a flag gets the nearest name, without a stray --", async () => {
    for (const args of [["stauts"], ["help", "stauts"]]) {
      const cmd = await run(root.path, args);
      expect(cmd.stderr).toContain("did you mean 'status'?");
      expect(cmd.code).toBe(2);
    }
    const flag = await run(root.path, ["start", "quick", "--forgrond"]);
    expect(flag.stderr).toContain("did you mean '--foreground'?");
    expect(flag.stderr).not.toContain("'--?");
    expect(flag.code).toBe(2);
  });

  test("words beyond the positionals are unexpected; kill with no name is a usage error", async () => {
    for (const args of [["status", "a", "b"], ["resume", "a", "b"], ["start", "quick", "x", "3", "extra"]]) {
      const r = await run(root.path, args);
      expect(r.stderr).toMatch(/unexpected argument "(b|extra)"/);
      expect(r.code).toBe(2);
    }
    const none = await run(root.path, ["kill", "--yes"]);
    expect(none.stderr).toContain("which session?");
    expect(none.stderr).not.toContain("undefined");
    expect(none.code).toBe(2);
  });

  test("a flag without its value names the flag and starts nothing; --provider --json does not take --json", async () => {
    for (const flag of ["--context", "--delay", "--input", "--model", "--root"]) {
      const r = await sessions(["start", "quick", "--root", root.path, "--foreground", flag], { tmux: server.dir });
      expect(r.stderr).toContain(`${flag} needs a value`);
      expect(r.code).toBe(2);
    }
    const empty = await run(root.path, ["start", "quick", "--provider="]);
    expect(empty.stderr).toContain("--provider needs a value");
    const j = await run(root.path, ["start", "quick", "--foreground", "--provider", "--json"]);
    expect(j.json().error).toMatchObject({ code: "usage", message: "--provider needs a value" });
    expect(j.code).toBe(2);
    expect(existsSync(runDir(root.path, "quick"))).toBe(false);
  });

  test("a --root that does not exist is refused and not created", async () => {
    const missing = join(root.path, "nope");
    const r = await sessions(["start", "quick", "--foreground", "--root", missing], { tmux: server.dir });
    expect(r.stderr).toContain(`project root ${missing} is not a directory`);
    expect(r.code).toBe(2);
    expect(existsSync(missing)).toBe(false);
    const env = await sessions(["list"], { tmux: server.dir, env: { SESSIONS_ROOT: missing } });
    expect(env.stderr).toContain("$SESSIONS_ROOT");
    expect(env.code).toBe(2);
  });
});

test("help has no colour in a pipe, and the root help lists each command's own description", async () => {
  for (const verb of ["status", "start", "kill", "list"]) {
    const r = await sessions([verb, "--help"], { env: { NO_COLOR: undefined } });
    expect(r.stdout).toContain("USAGE");
    expect(r.stdout).not.toContain("\x1b");
  }
  const root = await sessions(["--help"], { env: { NO_COLOR: undefined } });
  expect(root.stdout).toContain("Stop a session: its agent's processes");
  expect(root.stdout).not.toContain("\x1b");
});

describe("a closed stdout ends the command quietly, with the exit code of what it did", () => {
  test("tail, tail --json and start --foreground into head", async () => {
    using root = tempRoot();
    fakeStage(root.path, "many", { script: "continue", termination: "type: fixed\nmax: 40" });
    const fg = await piped(["start", "many", "--foreground", "--root", root.path], "head -1", root.path);
    expect(fg.stderr).not.toContain("EPIPE");
    expect(fg.stderr).not.toMatch(/^\s+at /m);
    expect(fg.code).toBe(0);
    expect((await state(root.path, "many")).status).toBe("complete");
    const version = await piped(["--version"], "true", root.path);
    expect([version.stderr, version.code]).toEqual(["", 0]);
    for (const args of [["tail", "many", "--lines", "1000"], ["tail", "many", "--lines", "1000", "--json"], ["status", "many"], ["list"], ["--help"]]) {
      const r = await piped([...args, "--root", root.path], "true", root.path);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
  }, 60_000);

  test("tail --follow and monitor --follow stop when their reader goes, not when the session ends", async () => {
    using root = tempRoot();
    fakeStage(root.path, "long", { script: "continue", termination: "type: fixed\nmax: 1000" });
    expect((await run(root.path, ["start", "long"])).code).toBe(0);
    try {
      for (const verb of ["tail", "monitor"]) {
        const r = await piped([verb, "long", "--follow", "--root", root.path], "head -1", root.path);
        expect(r.stderr).not.toMatch(/EPIPE|^\s+at /m);
        expect(r.code).toBe(0);
      }
      expect((await state(root.path, "long")).status).toBe("running");
    } finally {
      await run(root.path, ["kill", "long", "--yes"]);
    }
  }, 60_000);
});

describe("finished sessions", () => {
  test("run refuses a complete session and leaves its record alone; hints do not offer resume", async () => {
    using root = tempRoot();
    fakeStage(root.path, "quick", { script: "stop" });
    expect((await run(root.path, ["start", "quick", "--foreground"])).code).toBe(0);
    const before = readFileSync(join(runDir(root.path, "quick"), "state.json"), "utf8");
    const r = await run(root.path, ["run", "quick"]);
    expect(r.stderr).toContain("session quick is complete: there is nothing to run");
    expect(r.code).toBe(4);
    expect(readFileSync(join(runDir(root.path, "quick"), "state.json"), "utf8")).toBe(before);

    const again = await run(root.path, ["start", "quick"]);
    expect(again.stderr).toContain("already ran (status complete)");
    expect(again.stderr).not.toContain("resume");
    expect(again.code).toBe(4);
  }, 30_000);

  test("kill takes several names; a complete --keep session killed is not offered resume", async () => {
    using root = tempRoot();
    fakeStage(root.path, "kept", { script: "stop" });
    fakeStage(root.path, "hang", { script: "hang" });
    expect((await run(root.path, ["start", "kept", "--keep"])).code).toBe(0);
    await until(async () => (await state(root.path, "kept")).status === "complete", 15_000, "kept to complete");
    expect((await run(root.path, ["start", "hang"])).code).toBe(0);
    const r = await run(root.path, ["kill", "kept", "hang", "--yes"]);
    expect(r.stdout).toMatch(/killed kept: stopped tmux \(status complete\)$/m);
    expect(r.stdout).toMatch(/killed hang: .*\(status killed\); '\S*sessions resume hang' continues it/);
    expect(r.code).toBe(0);
    expect((await state(root.path, "hang")).status).toBe("killed");
  }, 30_000);
});

test("hints name the binary as it was invoked", async () => {
  using root = tempRoot();
  mkdirSync(join(root.path, "scripts"));
  symlinkSync(BIN, join(root.path, "scripts", "sessions"));
  const none = Bun.spawn(["./scripts/sessions", "list"], { cwd: root.path, env: cleanEnv({ TMUX_TMPDIR: server.dir }), stderr: "pipe", stdout: "pipe" });
  expect(await new Response(none.stdout).text()).toContain("'./scripts/sessions start <target>'");
  const help = Bun.spawn(["./scripts/sessions", "status", "--help"], { cwd: root.path, env: cleanEnv(), stdout: "pipe" });
  expect(await new Response(help.stdout).text()).toContain("./scripts/sessions status [OPTIONS] <SESSION>");
});

test("the run and lock folders ignore themselves: git status stays clean after a start", async () => {
  using root = tempRoot();
  fakeStage(root.path, "quick", { script: "stop" });
  Bun.spawnSync(["git", "-C", root.path, "add", "-A"]);
  Bun.spawnSync(["git", "-C", root.path, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "defs"]);
  expect((await run(root.path, ["start", "quick"])).code).toBe(0);
  await until(async () => (await state(root.path, "quick")).status === "complete", 15_000, "quick to complete");
  for (const dir of ["pipeline-runs", "locks"]) expect(readFileSync(join(root.path, ".claude", dir, ".gitignore"), "utf8")).toBe("*\n");
  const st = Bun.spawnSync(["git", "-C", root.path, "status", "--porcelain"]);
  expect(st.stdout.toString()).toBe("");
});

describe("two projects, one tmux server", () => {
  const tmux = (...args: string[]) => Bun.spawnSync(["tmux", ...args], { env: cleanEnv({ TMUX_TMPDIR: server.dir }), stdout: "pipe", stderr: "pipe" });
  const names = () => tmux("list-sessions", "-F", "#{session_name}").stdout.toString().trim().split("\n").sort();

  test("both run `ralph`: the second gets a root-tagged tmux name, and each sees, opens and kills only its own", async () => {
    using a = tempRoot();
    using b = tempRoot();
    fakeStage(a.path, "ralph", { script: "hang" });
    fakeStage(b.path, "ralph", { script: "sleep:30:continue" });
    expect((await run(a.path, ["start", "ralph"])).code).toBe(0);
    const second = await run(b.path, ["start", "ralph", "--json"]);
    expect(second.code).toBe(0);
    const tagged = second.json().tmux;
    expect(tagged).toMatch(/^pipeline-ralph-[0-9a-f]{6}$/);
    expect(names()).toEqual(["pipeline-ralph", tagged]);
    try {
      const sb = await until(async () => ((await state(b.path, "ralph")).agent_pgids?.length ? state(b.path, "ralph") : null), 10_000, "b's agent");
      expect(sb.tmux).toBe(tagged);
      await until(async () => (await run(b.path, ["monitor", "ralph"])).stdout.includes("action sleep:30:continue"), 10_000, "b's pane");
      expect((await run(a.path, ["monitor", "ralph"])).stdout).not.toContain("sleep:30");
      for (const root of [a.path, b.path]) {
        const st = (await run(root, ["status", "ralph", "--json"])).json();
        expect([st.status, st.tmux]).toEqual(["running", true]);
        expect((await run(root, ["list", "--json"])).json().sessions.map((r: any) => r.session)).toEqual(["ralph"]);
      }
      const k = await run(b.path, ["kill", "ralph", "--yes", "--json"]);
      expect(k.json().killed).toContain("tmux");
      expect(names()).toEqual(["pipeline-ralph"]);
      expect((await state(a.path, "ralph")).status).toBe("running");
    } finally {
      await run(a.path, ["kill", "ralph", "--yes"]);
      await run(b.path, ["kill", "ralph", "--yes"]);
    }
  }, 60_000);

  test("when both tmux names are taken, start says which projects hold them and creates nothing", async () => {
    using a = tempRoot();
    fakeStage(a.path, "busy", { script: "stop" });
    const tagged = `pipeline-busy-${rootTag(a.path)}`;
    tmux("new-session", "-d", "-s", "pipeline-busy", "sleep", "300", ";", "set-option", "-t", "=pipeline-busy:", "@sessions_root", "/some/other/project");
    tmux("new-session", "-d", "-s", tagged, "sleep", "300");
    try {
      const r = await run(a.path, ["start", "busy"]);
      expect(r.stderr).toContain(`pipeline-busy (project /some/other/project), ${tagged} (not made by sessions)`);
      expect(r.stderr).toContain("give the session another name");
      expect(r.code).toBe(4);
      expect(existsSync(runDir(a.path, "busy"))).toBe(false);
      expect(existsSync(join(a.path, ".claude", "locks", "busy.lock"))).toBe(false);
    } finally {
      tmux("kill-session", "-t", "=pipeline-busy");
      tmux("kill-session", "-t", `=${tagged}`);
    }
  }, 30_000);

  test("a pipeline-<name> that sessions did not make is left alone, and the session starts beside it", async () => {
    using a = tempRoot();
    fakeStage(a.path, "mine", { script: "stop" });
    expect(tmux("new-session", "-d", "-s", "pipeline-mine", "sleep", "300").exitCode).toBe(0);
    try {
      const r = await run(a.path, ["start", "mine", "--json"]);
      expect(r.code).toBe(0);
      expect(r.json().tmux).toMatch(/^pipeline-mine-[0-9a-f]{6}$/);
      // Once its own tmux session has closed, the foreign pipeline-mine is not taken for it.
      await until(async () => {
        const st = (await run(a.path, ["status", "mine", "--json"])).json();
        return st.status === "complete" && st.tmux === false;
      }, 15_000, "mine to complete and its tmux to close");
      const list = await run(a.path, ["list"]);
      expect(list.stdout).toContain("foreign tmux sessions (pipeline-* not started by sessions; left alone): pipeline-mine");
      const att = await run(a.path, ["attach", "mine"]);
      expect(att.stderr).toContain("session mine has no tmux session");
      expect(att.code).toBe(1);
    } finally {
      tmux("kill-session", "-t", "=pipeline-mine");
    }
  }, 30_000);
});

test("attach from inside tmux: a read-only window that closes with the session, the user back where they were", async () => {
  using root = tempRoot();
  fakeStage(root.path, "watched", { script: "hang" });
  const tmux = (...args: string[]) => Bun.spawnSync(["tmux", ...args], { env: cleanEnv({ TMUX_TMPDIR: server.dir }), stdout: "pipe", stderr: "pipe" });
  const out = (...args: string[]) => tmux(...args).stdout.toString();
  expect((await run(root.path, ["start", "watched"])).code).toBe(0);
  const s = await until(async () => ((await state(root.path, "watched")).agent_pgids?.length ? state(root.path, "watched") : null), 10_000, "the agent");
  // The user's own session: a shell in a real pane, where they type the command.
  expect(tmux("new-session", "-d", "-s", "user", "-x", "120", "-y", "30", "-e", `PATH=${process.env.PATH}`, "--", "bash", "--norc", "--noprofile").exitCode).toBe(0);
  try {
    tmux("send-keys", "-t", "=user:", `${BIN} attach watched --root ${root.path}`, "Enter");
    await until(() => out("list-windows", "-t", "=user", "-F", "#{window_index} #{window_name} #{window_active}").includes("1 pipeline-watched (read-only) 1"), 10_000, "the read-only window");
    await until(() => out("list-clients", "-F", "#{client_readonly} #{client_session}").includes("1 pipeline-watched"), 10_000, "a read-only client");
    await until(() => out("capture-pane", "-p", "-t", "=user:1").includes("action hang"), 10_000, "the pipeline's pane in the window");
    // What people press to get out reaches nothing: the session keeps running.
    tmux("send-keys", "-t", "=user:1", "C-c");
    tmux("send-keys", "-t", "=user:1", "typed text", "Enter");
    await until(async () => (await run(root.path, ["status", "watched", "--json"])).json().status === "running", 5_000, "still running");
    expect(out("capture-pane", "-p", "-t", "=pipeline-watched:")).not.toContain("typed text");
    expect((await run(root.path, ["kill", "watched", "--yes"])).code).toBe(0);
    await until(() => out("list-windows", "-t", "=user", "-F", "#{window_index} #{window_active}").trim() === "0 1", 10_000, "the window to close");
    expect(out("capture-pane", "-p", "-t", "=user:0")).toContain("read-only view opened in a new window");
    expect(s.status).toBe("running");
  } finally {
    tmux("kill-session", "-t", "=user");
    await run(root.path, ["kill", "watched", "--yes"]);
  }
}, 40_000);

describe("housekeeping: rm, prune, list filters", () => {
  test("rm removes finished sessions, refuses a running one (removing nothing), --force kills first", async () => {
    using root = tempRoot();
    fakeStage(root.path, "done", { script: "stop" });
    fakeStage(root.path, "hang", { script: "hang" });
    expect((await run(root.path, ["start", "done", "--foreground"])).code).toBe(0);
    expect((await run(root.path, ["start", "hang"])).code).toBe(0);
    await until(async () => (await state(root.path, "hang")).agent_pgids?.length, 10_000, "hang's agent");

    const refused = await run(root.path, ["rm", "done", "hang"]);
    expect(refused.stderr).toContain("hang is still running");
    expect(refused.code).toBe(4);
    expect(existsSync(runDir(root.path, "done"))).toBe(true);

    const list = (await run(root.path, ["list", "--json"])).json().sessions.map((r: any) => r.session);
    expect(list).toEqual(["hang", "done"]);
    expect((await run(root.path, ["list", "--running", "--json"])).json().sessions.map((r: any) => r.session)).toEqual(["hang"]);
    expect((await run(root.path, ["list", "--status", "complete", "--json"])).json().sessions.map((r: any) => r.session)).toEqual(["done"]);
    const badStatus = await run(root.path, ["list", "--status", "finished"]);
    expect(badStatus.stderr).toContain("--status finished is not a status");
    expect(badStatus.code).toBe(2);

    const rm = await run(root.path, ["rm", "done"]);
    expect(rm.stdout).toContain("removed done (complete)");
    expect(rm.code).toBe(0);
    expect(existsSync(runDir(root.path, "done"))).toBe(false);

    const forced = await run(root.path, ["rm", "hang", "--force", "--json"]);
    expect(forced.json().removed).toEqual([{ session: "hang", status: "running", killed: expect.arrayContaining(["agent", "engine", "tmux"]) }]);
    expect(existsSync(runDir(root.path, "hang"))).toBe(false);
    expect(existsSync(join(root.path, ".claude", "locks", "hang.lock"))).toBe(false);
    expect((await run(root.path, ["list", "--json"])).json().sessions).toEqual([]);
    expect((await run(root.path, ["rm", "nope"])).code).toBe(3);
  }, 40_000);

  test("prune is a dry run unless --yes, takes archived runs, filters by status and age", async () => {
    using root = tempRoot();
    fakeStage(root.path, "done", { script: "stop" });
    fakeStage(root.path, "hang", { script: "hang" });
    expect((await run(root.path, ["start", "done", "--foreground"])).code).toBe(0);
    expect((await run(root.path, ["start", "done", "--foreground", "--force"])).code).toBe(0);
    expect((await run(root.path, ["start", "hang"])).code).toBe(0);
    await until(async () => (await state(root.path, "hang")).agent_pgids?.length, 10_000, "hang's agent");
    expect((await run(root.path, ["kill", "hang", "--yes"])).code).toBe(0);

    const dry = await run(root.path, ["prune"]);
    expect(dry.stdout).toContain("nothing was removed");
    expect(dry.stdout).toMatch(/done\.\d{8}T\d{6}\s+complete/);
    const doc = (await run(root.path, ["prune", "--json"])).json();
    expect(doc.removed).toBe(false);
    expect(doc.sessions.map((r: any) => r.status).sort()).toEqual(["complete", "complete", "killed"]);
    expect(existsSync(runDir(root.path, "hang"))).toBe(true);

    expect((await run(root.path, ["prune", "--older-than", "1d", "--yes", "--json"])).json().sessions).toEqual([]);
    const bad = await run(root.path, ["prune", "--older-than", "week"]);
    expect(bad.stderr).toContain("--older-than must be a number with a unit");
    expect(bad.code).toBe(2);
    expect((await run(root.path, ["prune", "--status", "running"])).code).toBe(2);

    const yes = await run(root.path, ["prune", "--status", "complete", "--yes"]);
    expect(yes.stdout).toContain("removed 2 sessions");
    expect((await run(root.path, ["list", "--all", "--json"])).json().sessions.map((r: any) => r.session)).toEqual(["hang"]);
  }, 40_000);
});

describe("in a real 80-column tmux pane (TERM tmux-256color)", () => {
  const tmux = (...args: string[]) => Bun.spawnSync(["tmux", ...args], { env: cleanEnv({ TMUX_TMPDIR: server.dir }), stdout: "pipe", stderr: "pipe" });
  const screen = () => tmux("capture-pane", "-p", "-t", "=pane:").stdout.toString();
  const lines = () => screen().split("\n").filter((l) => l.trim());
  const shell = (cwd: string) =>
    expect(tmux("new-session", "-d", "-s", "pane", "-x", "80", "-y", "40", "-c", cwd, "-e", "TERM=tmux-256color", "-e", `PATH=${process.env.PATH}`, "-e", "NO_COLOR=1", "--", "bash", "--norc", "--noprofile").exitCode).toBe(0);

  test("the menu redraws in place as the arrows move, and the 'start which?' list fits the width", async () => {
    using root = tempRoot();
    shell(root.path);
    try {
      tmux("send-keys", "-t", "=pane:", `${BIN}; echo "menu exit $?"`, "Enter");
      await until(() => screen().includes("what do you want to do?"), 10_000, "the menu");
      tmux("send-keys", "-t", "=pane:", "Down", "Down", "Down", "Up");
      await until(() => screen().includes("❯ status of a session"), 5_000, "the cursor on the third action");
      const shown = lines();
      // Each action once, one cursor: no stale lines from earlier frames.
      expect(shown.filter((l) => l.includes("list sessions"))).toHaveLength(1);
      expect(shown.filter((l) => l.includes("❯"))).toHaveLength(1);
      tmux("send-keys", "-t", "=pane:", "Up", "Up", "Enter");
      await until(() => screen().includes("start which?"), 5_000, "the target list");
      tmux("send-keys", "-t", "=pane:", "Down");
      await until(() => /❯ bug-triage/.test(screen()), 5_000, "the cursor on the second target");
      const targets = lines().filter((l) => /\((stage|pipeline)\)/.test(l));
      expect(targets.length).toBeGreaterThan(5);
      for (const l of targets) expect(l.length).toBeLessThan(80);
      expect(targets.filter((l) => l.includes("❯"))).toHaveLength(1);
      tmux("send-keys", "-t", "=pane:", "Escape");
      await until(() => screen().includes("menu exit 0"), 5_000, "the menu to end");
    } finally {
      tmux("kill-session", "-t", "=pane");
    }
  }, 30_000);

  test("the stages table does not wrap at 80 columns", async () => {
    using root = tempRoot();
    const count = (await run(root.path, ["stages", "--json"])).json().stages.length;
    shell(root.path);
    try {
      tmux("send-keys", "-t", "=pane:", `clear; ${BIN} stages --root ${root.path}; echo done-$?`, "Enter");
      await until(() => screen().includes("done-0"), 10_000, "stages to print");
      const shown = lines();
      const table = shown.slice(shown.findIndex((l) => l.startsWith("NAME")), shown.findIndex((l) => l.startsWith("done-0")));
      expect(table).toHaveLength(count + 1);
      for (const l of table) expect(l.length).toBeLessThanOrEqual(80);
    } finally {
      tmux("kill-session", "-t", "=pane");
    }
  }, 30_000);
});

test("a pause asked for but not yet taken shows in status", async () => {
  using root = tempRoot();
  fakeStage(root.path, "slow", { script: "sleep:30:continue" });
  expect((await run(root.path, ["start", "slow"])).code).toBe(0);
  try {
    await until(async () => (await state(root.path, "slow")).agent_pgids?.length, 10_000, "slow's agent");
    expect((await run(root.path, ["pause", "slow"])).code).toBe(0);
    const human = await run(root.path, ["status", "slow"]);
    expect(human.stdout).toContain("paused     requested: holds after the running iteration");
    expect((await run(root.path, ["status", "slow", "--json"])).json()).toMatchObject({ status: "running", pause_requested: true });
  } finally {
    await run(root.path, ["kill", "slow", "--yes"]);
  }
}, 30_000);

test("attach --write from inside tmux switches the user's client, and gives it back when the pipeline ends", async () => {
  using root = tempRoot();
  fakeStage(root.path, "written", { script: "hang" });
  const env = cleanEnv({ TMUX_TMPDIR: server.dir });
  const tmux = (...args: string[]) => Bun.spawnSync(["tmux", ...args], { env, stdout: "pipe", stderr: "pipe" });
  const clients = () => tmux("list-clients", "-F", "#{client_session} #{client_readonly}").stdout.toString().trim();
  expect((await run(root.path, ["start", "written"])).code).toBe(0);
  expect(tmux("new-session", "-d", "-s", "user2", "-x", "120", "-y", "30", "--", "bash", "--norc", "--noprofile").exitCode).toBe(0);
  // A client for the user's session: control mode needs no terminal.
  const client = Bun.spawn(["tmux", "-C", "attach-session", "-t", "=user2"], { env, stdin: "pipe", stdout: "ignore", stderr: "ignore" });
  try {
    await until(() => clients() === "user2 0", 10_000, "the user's client");
    tmux("send-keys", "-t", "=user2:", `${BIN} attach written --write --root ${root.path}`, "Enter");
    await until(() => clients() === "pipeline-written 0", 10_000, "the client on the pipeline, writable");
    expect((await run(root.path, ["kill", "written", "--yes"])).code).toBe(0);
    await until(() => clients() === "user2 0", 10_000, "the client back on the user's session");
  } finally {
    client.stdin.end();
    client.kill();
    tmux("kill-session", "-t", "=user2");
    await run(root.path, ["kill", "written", "--yes"]);
  }
}, 40_000);
