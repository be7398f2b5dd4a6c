/** What the agents did and what it cost: usage, budgets, git, report, hooks, watch — through the binary. */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanEnv, fakeStage, historyOf, privateTmux, runDir, sessions, tempRoot, until } from "../helpers.ts";

const tmux = privateTmux();
afterAll(() => tmux.kill());

/**
 * A stand-in `claude` that prints the stream-json Claude Code prints (init, then a result with usage
 * and cost), writes a continue status, and with COMMIT=1 commits a file of its own.
 */
function fakeClaude(root: string): string {
  const bin = join(root, "fake-claude");
  writeFileSync(
    bin,
    `#!/bin/sh
cat >/dev/null
n=$PIPELINE_ITERATION
if [ -n "$COMMIT" ]; then
  printf 'line %s\\nmore\\n' "$n" > "work-$n.txt"
  git add "work-$n.txt" && git -c user.email=a@a -c user.name=a commit -q -m "iteration $n: work-$n.txt"
fi
echo '{"decision":"continue","reason":"more","summary":"did '$n'"}' > "$PIPELINE_STATUS"
echo '{"type":"system","subtype":"init","model":"claude-test-1","session_id":"s"}'
echo '{"type":"result","subtype":"success","is_error":false,"result":"ok","total_cost_usd":0.1,"num_turns":2,"usage":{"input_tokens":'$((100 * n))',"output_tokens":20,"cache_read_input_tokens":1000,"cache_creation_input_tokens":30}}'
`,
  );
  chmodSync(bin, 0o755);
  return bin;
}

/** A claude stage of `max` fixed iterations. */
function claudeStage(root: string, name: string, max: number, extra = "") {
  const dir = join(root, ".claude", "pipelines", "stages", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "stage.yaml"), `name: ${name}\nprovider: claude\ntermination:\n  type: fixed\n  max: ${max}\ndelay: 0\n${extra}`);
  writeFileSync(join(dir, "prompt.md"), "Iteration ${ITERATION}. Write ${STATUS}.\n");
}

describe("usage and git", () => {
  test("a 3-iteration session: each iteration's usage and commits are recorded; the totals are their sums, in status, list and tail", async () => {
    using root = tempRoot();
    const bin = fakeClaude(root.path);
    claudeStage(root.path, "u", 3);
    const env = { SESSIONS_CLAUDE_BIN: bin, COMMIT: "1" };
    const r = await sessions(["start", "u", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env });
    const doc = r.json();
    r.expectExit(0);
    expect(doc.history.map((h: any) => h.usage)).toEqual([1, 2, 3].map((n) => ({ input_tokens: 100 * n, output_tokens: 20, cache_read_tokens: 1000, cache_write_tokens: 30, cost_usd: 0.1, turns: 2, model: "claude-test-1" })));
    expect(doc.totals).toMatchObject({ iterations: 3, failures: 0, cost_usd: 0.3, tokens: { input: 600, output: 60, cache_read: 3000, cache_write: 90 }, commits: 3, files: 3, lines_added: 6, lines_removed: 0 });
    expect(doc.stages[0].totals).toEqual(doc.totals);
    const git = doc.history.map((h: any) => h.git);
    expect(git[1].head_before).toBe(git[0].head_after);
    expect(git.map((g: any) => [g.commits.map((c: any) => c.subject), g.files, g.files_changed, g.lines_added])).toEqual([1, 2, 3].map((n) => [[`iteration ${n}: work-${n}.txt`], [`work-${n}.txt`], 1, 2]));
    const log = Bun.spawnSync(["git", "-C", root.path, "log", "--format=%H", "-n3"]).stdout.toString().trim().split("\n").reverse();
    expect(doc.commits.map((c: any) => c.hash)).toEqual(log);
    // The events are what status derives from: the same entries, usage included.
    expect(historyOf(root.path, "u")).toEqual(doc.history);

    const list = await sessions(["list", "--json", "--root", root.path], { tmux: tmux.dir });
    expect(list.json().sessions[0]).toMatchObject({ session: "u", cost_usd: 0.3, tokens: 750 });
    const human = await sessions(["list", "--root", root.path], { tmux: tmux.dir });
    expect(human.stdout).toMatch(/COST[\s\S]*\$0\.30/);
    const status = await sessions(["status", "u", "--root", root.path], { tmux: tmux.dir });
    expect(status.stdout).toContain("totals     3 iterations, 0 failed, 750 tokens (+3.0k cache reads), $0.30, 3 commits (3 files, +6 -0)");
    expect(status.stdout).toContain("iteration 3: work-3.txt");
    const tail = await sessions(["tail", "u", "--json", "--root", root.path], { tmux: tmux.dir });
    const done = tail.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "iteration_complete");
    expect(done.map((e: any) => e.data.usage.input_tokens)).toEqual([100, 200, 300]);
    expect(readFileSync(join(runDir(root.path, "u"), "engine.log"), "utf8")).toContain("iteration 3: continue — did 3 (350 tok $0.10 1 commit)");

    // The report lists every iteration and matches the history.
    const rep = (await sessions(["report", "u", "--json", "--root", root.path], { tmux: tmux.dir })).json();
    expect(rep).toMatchObject({ session: "u", target: "u", status: "complete", totals: doc.totals, errors: [] });
    expect(rep.duration_s).toBeGreaterThanOrEqual(0);
    expect(rep.iterations.map((i: any) => [i.iteration, i.decision, i.summary, i.attempts, i.cost_usd, i.commits.length, i.files])).toEqual(doc.history.map((h: any) => [h.iteration, h.decision, h.summary, 1, 0.1, 1, h.git.files]));
    expect(rep.stages[0]).toMatchObject({ id: "u", status: "complete", totals: doc.totals });
    const md = await sessions(["report", "u", "--root", root.path], { tmux: tmux.dir });
    md.expectExit(0);
    expect(md.stdout).toStartWith("# Session u\n");
    expect(md.stdout).toContain("- **Cost:** $0.30");
    expect(md.stdout).toContain("- **Commits:** 3 (3 files, +6 −0)");
    const rows = md.stdout.split("## Timeline")[1]!.split("\n").filter((l) => /^\| u \| \d/.test(l));
    expect(rows.length).toBe(3);
    expect(rows[2]).toMatch(/^\| u \| 3 \| continue \| did 3 \| 350 \| \$0\.10 \| \d+s \| 1 \| `[0-9a-f]{7}` iteration 3: work-3\.txt \| 1 \|$/);
    const file = join(root.path, "report.md");
    const written = await sessions(["report", "u", "--output", file, "--root", root.path], { tmux: tmux.dir });
    written.expectExit(0);
    expect(written.stdout).toBe("");
    expect(readFileSync(file, "utf8")).toBe(md.stdout);
  }, 60_000);

  test("outside a git repository there is no git record, and a command agent reports no usage: cost stays null", async () => {
    using root = tempRoot({ git: false });
    const dir = join(root.path, ".claude", "pipelines", "stages", "c");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "stage.yaml"), "name: c\nprovider: command\ncommand: ${SESSIONS_BIN} _agent --script stop\ntermination:\n  type: fixed\n  max: 2\ndelay: 0\n");
    writeFileSync(join(dir, "prompt.md"), "Write ${STATUS}.\n");
    const r = await sessions(["start", "c", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir });
    const doc = r.json();
    r.expectExit(0);
    expect(doc.history[0]).toMatchObject({ usage: null, git: null, cost_usd: null });
    expect(doc.totals).toMatchObject({ cost_usd: null, tokens: { input: 0, output: 0, cache_read: 0, cache_write: 0 }, commits: 0 });
  }, 30_000);
});

describe("budgets", () => {
  test("a USD budget stops before the iteration that would pass it (failed, kind budget); resume with a higher one goes on", async () => {
    using root = tempRoot();
    const bin = fakeClaude(root.path);
    claudeStage(root.path, "b", 4);
    const env = { SESSIONS_CLAUDE_BIN: bin };
    const r = await sessions(["start", "b", "--budget-usd", "0.25", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env });
    const doc = r.json();
    expect(doc.error).toMatchObject({ kind: "budget", stage: "b", iteration: 3 });
    expect(doc.error.message).toContain("budget reached: $0.30 spent, the session's budget is $0.25");
    expect(doc.error.message).toMatch(/'\S*sessions resume b --budget-usd <more>' continues$/);
    expect(doc.history.length).toBe(3);
    expect(doc.budget).toEqual({ usd: 0.25, tokens: null, spent_usd: 0.3, spent_tokens: 750 });
    expect(r.code).toBe(1);

    const again = await sessions(["resume", "b", "--budget-usd", "1", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env });
    const after = again.json();
    again.expectExit(0);
    expect(after.status).toBe("complete");
    expect(after.history.length).toBe(4);
    expect(after.budget).toMatchObject({ usd: 1, spent_usd: 0.4 });
    const st = await sessions(["status", "b", "--root", root.path], { tmux: tmux.dir });
    expect(st.stdout).toContain("budget     $0.40 of $1.00 (40%)");
  }, 60_000);

  test("a token budget in the stage.yaml ends the stage before the iteration that would pass it", async () => {
    using root = tempRoot();
    const bin = fakeClaude(root.path);
    claudeStage(root.path, "t", 5, "budget:\n  tokens: 400\n");
    const r = await sessions(["start", "t", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env: { SESSIONS_CLAUDE_BIN: bin } });
    const doc = r.json();
    // 150 tokens, then 250 (400 in all): the third iteration would pass it.
    expect(doc.history.length).toBe(2);
    expect(doc.error.kind).toBe("budget");
    expect(doc.error.message).toContain("400 tokens spent, stage t's budget is 400 tokens");
    expect(r.code).toBe(1);
  }, 60_000);
});

describe("parallel blocks", () => {
  test("a block's budget counts every provider; each provider's commits are recorded from its worktree", async () => {
    using root = tempRoot();
    const bin = fakeClaude(root.path);
    claudeStage(root.path, "p", 5);
    const pipeline = join(root.path, ".claude", "pipelines", "duo.yaml");
    writeFileSync(pipeline, "name: duo\nnodes:\n  - id: both\n    budget: { usd: 0.35 }\n    parallel:\n      providers: [{ id: one, provider: claude }, { id: two, provider: claude }]\n      stages: [{ id: work, stage: p }]\n");
    const r = await sessions(["start", "duo", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env: { SESSIONS_CLAUDE_BIN: bin, COMMIT: "1" } });
    const doc = r.json();
    expect(r.code).toBe(1);
    expect(doc.error.message).toContain("parallel block both's budget is $0.35");
    const by = (id: string) => doc.history.filter((h: any) => h.provider === id);
    // $0.10 an iteration: the block stops once the two together reach $0.35, not at $0.35 each.
    expect(doc.history.length).toBeGreaterThanOrEqual(4);
    expect(doc.history.length).toBeLessThanOrEqual(5);
    expect(by("one").length).toBeGreaterThanOrEqual(1);
    expect(by("two").length).toBeGreaterThanOrEqual(1);
    expect(doc.totals.commits).toBe(doc.history.length);
    for (const h of doc.history) expect(h.git.commits[0].subject).toBe(`iteration ${h.iteration}: work-${h.iteration}.txt`);
    expect(doc.commits.map((c: any) => c.provider).sort()).toEqual(doc.history.map((h: any) => h.provider).sort());
    const rep = (await sessions(["report", "duo", "--root", root.path], { tmux: tmux.dir })).stdout;
    expect(rep).toContain("### Parallel block both");
    expect(rep).toMatch(/\| one \| \d \| 0 \|/);
    expect(rep).toMatch(/\| two \| \d \| 0 \|/);
  }, 60_000);
});

describe("hooks", () => {
  test("on_iteration and on_complete get the summary in SESSIONS_* and the status JSON on stdin; a hook that hangs is ended at its timeout while the session completes", async () => {
    using root = tempRoot();
    const hook = join(root.path, "hook.sh");
    writeFileSync(hook, `#!/bin/sh\nout="$SESSIONS_RUN_DIR/hook-$SESSIONS_HOOK-$SESSIONS_ITERATION"\ncat > "$out.json"\nenv | grep '^SESSIONS_' | sort > "$out.env"\necho "hook $1 ran"\n`);
    chmodSync(hook, 0o755);
    const pids = join(root.path, "hang.pid");
    const hang = join(root.path, "hang.sh");
    writeFileSync(hang, `#!/bin/sh\necho $$ > ${pids}\nexec sleep 300\n`);
    chmodSync(hang, 0o755);
    const bin = fakeClaude(root.path);
    claudeStage(root.path, "h", 2, `on_iteration: ./hook.sh iteration\non_complete:\n  command: ./hang.sh\n  timeout: 1\n`);
    const started = Date.now();
    const r = await sessions(["start", "h", "--on-complete", "./hook.sh done", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env: { SESSIONS_CLAUDE_BIN: bin } });
    const doc = r.json();
    r.expectExit(0);
    expect(doc.status).toBe("complete");
    expect(Date.now() - started).toBeLessThan(20_000);
    const dir = runDir(root.path, "h");
    const env2 = readFileSync(join(dir, "hook-on_iteration-2.env"), "utf8");
    expect(env2).toContain("SESSIONS_SESSION=h\n");
    expect(env2).toContain("SESSIONS_DECISION=continue\n");
    expect(env2).toContain("SESSIONS_SUMMARY=did 2\n");
    expect(env2).toContain("SESSIONS_COST_USD=0.2\n");
    const onIteration = JSON.parse(readFileSync(join(dir, "hook-on_iteration-2.json"), "utf8"));
    expect(onIteration.history.length).toBe(2);
    expect(onIteration.totals.cost_usd).toBe(0.2);
    const done = JSON.parse(readFileSync(join(dir, "hook-on_complete-2.json"), "utf8"));
    expect(done).toMatchObject({ session: "h", status: "complete", totals: { iterations: 2, cost_usd: 0.2 } });
    expect(readFileSync(join(dir, "hook-on_complete-2.env"), "utf8")).toContain("SESSIONS_STATUS=complete\n");
    const log = readFileSync(join(dir, "engine.log"), "utf8");
    expect(log).toContain("hook on_complete hang.sh failed (hang.sh timed out after 1s and was killed)");
    expect(log).toContain("hook on_complete hook.sh done");
    expect(readFileSync(join(dir, "hooks.log"), "utf8")).toContain("hook done ran");
    const hung = Number(readFileSync(pids, "utf8"));
    expect(() => process.kill(hung, 0)).toThrow();
    const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
    expect(state.agent_pgids).toEqual([]);
  }, 60_000);

  test("a hook that is not installed is said at start, exit 5", async () => {
    using root = tempRoot();
    claudeStage(root.path, "n", 1);
    const r = await sessions(["start", "n", "--on-fail", "no-such-notifier --x", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env: { SESSIONS_CLAUDE_BIN: fakeClaude(root.path) } });
    expect(r.json().error.message).toContain("on_fail hook no-such-notifier not found on PATH");
    expect(r.code).toBe(5);
  }, 30_000);
});

describe("watch", () => {
  const tm = (...args: string[]) => Bun.spawnSync(["tmux", ...args], { env: cleanEnv({ TMUX_TMPDIR: tmux.dir }), stdout: "pipe", stderr: "pipe" });
  const screen = () => tm("capture-pane", "-p", "-t", "=watcher:").stdout.toString();
  /** watch in the pane, its exit code written to `exit` when it ends (tmux's own pane_dead_status can lag). */
  const watched = (root: string, exit: string) => ["sh", "-c", 'cd / && "$0" watch --root "$1"; echo $? > "$2"', BIN, root, exit];

  test("in a real tmux pane: shows the sessions, selects with the arrows, Enter shows status, k asks first, follows a resize, q restores the terminal", async () => {
    using root = tempRoot();
    fakeStage(root.path, "alpha", { script: "stop" });
    fakeStage(root.path, "beta", { script: "fail" });
    (await sessions(["start", "alpha", "--foreground", "--root", root.path], { tmux: tmux.dir })).expectExit(0);
    (await sessions(["start", "beta", "--foreground", "--root", root.path], { tmux: tmux.dir })).expectExit(1);
    const exit = join(root.path, "watch.exit");
    expect(tm("new-session", "-d", "-s", "watcher", "-x", "150", "-y", "30", "-e", "NO_COLOR=1", "--", ...watched(root.path, exit), ";", "set-option", "-g", "remain-on-exit", "on").success).toBe(true);
    try {
      let text = await until(() => (/alpha/.test(screen()) && /beta/.test(screen()) ? screen() : null), 10_000, "the sessions on screen");
      expect(text).toContain("sessions watch");
      expect(text).toContain("q quit");
      // Newest first: beta is selected; its last decision is its failure.
      expect(text).toMatch(/> beta\s+failed\s+beta\s+1\/3 \[[#-]{8}\]\s+-\s+\S+\s+failed: /);
      expect(text).toMatch(/\n  alpha\s+complete\s+alpha\s+1\/3 .*stop: iteration 1 did stop/);
      tm("send-keys", "-t", "=watcher:", "Down");
      await until(() => /> alpha/.test(screen()), 10_000, "alpha selected");
      tm("send-keys", "-t", "=watcher:", "Enter");
      text = await until(() => (/press any key to return/.test(screen()) ? screen() : null), 10_000, "the status page");
      expect(text).toMatch(/alpha\s+complete/);
      expect(text).toContain("totals     1 iteration, 0 failed");
      tm("send-keys", "-t", "=watcher:", "x");
      await until(() => /q quit/.test(screen()), 10_000, "back to the list");
      tm("send-keys", "-t", "=watcher:", "k");
      await until(() => /kill alpha\? y to confirm/.test(screen()), 10_000, "the kill question");
      tm("send-keys", "-t", "=watcher:", "n");
      await until(() => /nothing was killed/.test(screen()), 10_000, "the answer");
      tm("resize-window", "-t", "=watcher:", "-x", "90", "-y", "20");
      text = await until(() => (screen().split("\n").length <= 21 && /q quit/.test(screen()) ? screen() : null), 10_000, "the resized screen");
      expect(Math.max(...text.split("\n").map((l) => Bun.stringWidth(l)))).toBeLessThanOrEqual(90);
      tm("send-keys", "-t", "=watcher:", "q");
      expect(await until(() => (existsSync(exit) ? readFileSync(exit, "utf8").trim() : null), 20_000, "watch to end")).toBe("0");
      // Back on the normal screen: the view (on the alternate screen) is gone.
      expect(screen()).not.toContain("q quit");
      expect(tm("display-message", "-p", "-t", "=watcher:", "#{alternate_on}").stdout.toString().trim()).toBe("0");
    } finally {
      tm("kill-session", "-t", "=watcher");
    }
  }, 60_000);

  test("Ctrl-C ends it as q does, and gives the terminal back", async () => {
    using root = tempRoot();
    const exit = join(root.path, "watch.exit");
    expect(tm("new-session", "-d", "-s", "watcher", "-x", "100", "-y", "20", "--", ...watched(root.path, exit), ";", "set-option", "-g", "remain-on-exit", "on").success).toBe(true);
    try {
      await until(() => /no sessions here yet/.test(screen()), 10_000, "the empty view");
      tm("send-keys", "-t", "=watcher:", "C-c");
      expect(await until(() => (existsSync(exit) ? readFileSync(exit, "utf8").trim() : null), 20_000, "watch to end")).toBe("0");
      expect(screen()).not.toContain("q quit");
      expect(tm("display-message", "-p", "-t", "=watcher:", "#{alternate_on}").stdout.toString().trim()).toBe("0");
    } finally {
      tm("kill-session", "-t", "=watcher");
    }
  }, 30_000);

  test("off a terminal it refuses with exit 2 and names list --json", async () => {
    using root = tempRoot();
    const r = await sessions(["watch", "--root", root.path], { tmux: tmux.dir });
    expect(r.stderr).toContain("watch needs a terminal");
    expect(r.stderr).toContain("'sessions list --json'");
    expect(r.code).toBe(2);
  }, 10_000);
});
