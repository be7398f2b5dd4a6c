import { defineCommand } from "citty";
import { appendFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { Exit } from "../lib/errors.ts";
import { sleep } from "../lib/proc.ts";

/**
 * A scriptable stand-in for a coding agent, obeying the status contract: the README demo and the
 * end-to-end tests use it through the `command` provider. Hidden from help.
 *
 * --script "continue,stop" picks the action by PIPELINE_ITERATION (the last one repeats). Actions:
 * continue | stop | error | fail | hang | crash | garbage | nostatus | baddecision | limit |
 * hostile:fifo|zero|dir|huge:<MiB> (a status.json that is no small regular file) |
 * orphan (leaves a child running, then continues) | escape:<pidfile>[:<action>] (a setsid, env -i daemon) | flood:<MiB> | sleep:<s>:<action> |
 * failonce:<marker file>:<action> | verdict:stop|continue|garbage (as a judge)
 */
export default defineCommand({
  meta: { name: "_agent", description: "scripted fake agent (tests and demo)" },
  args: {
    script: { type: "string", description: "comma-separated actions, one per iteration" },
    demo: { type: "boolean", description: "the README demo: three friendly iterations" },
    record: { type: "string", description: "append one JSON line per run to this file" },
    "script-file": { type: "string", description: "read the script from this file (one action per line)" },
    pop: { type: "string", description: "remove the first line of this file (a task queue) before acting" },
  },
  async run({ args }) {
    const env = process.env;
    const iteration = Number(env.PIPELINE_ITERATION ?? "1");
    const statusPath = env.PIPELINE_STATUS;
    const prompt = await Bun.stdin.text();
    if (args.record) {
      appendFileSync(
        args.record,
        `${JSON.stringify({ pid: process.pid, session: env.PIPELINE_SESSION, stage: env.PIPELINE_STAGE, provider: env.PIPELINE_PROVIDER ?? null, iteration, cwd: process.cwd(), prompt_bytes: prompt.length, claudecode: env.CLAUDECODE ?? null, tmux: env.TMUX ?? null, ctx: env.PIPELINE_CTX })}\n`,
      );
    }
    const status = (decision: string, summary: string, extra: Record<string, unknown> = {}) => {
      if (statusPath) writeFileSync(statusPath, JSON.stringify({ decision, reason: `scripted ${decision}`, summary, work: { items_completed: [], files_touched: [] }, errors: [], ...extra }));
    };
    if (args.pop) {
      const lines = (await Bun.file(args.pop).text()).split("\n").filter(Boolean);
      console.log(`fake agent: took task ${lines.shift() ?? "(none)"}`);
      writeFileSync(args.pop, lines.map((l) => `${l}\n`).join(""));
    }
    if (args.demo) return demo(iteration, prompt, status);
    const script = args["script-file"] ? (await Bun.file(args["script-file"]).text()).split("\n").filter(Boolean) : (args.script ?? "continue").split(",");
    const action = (script[Math.min(iteration, script.length) - 1] ?? "continue").trim();
    return act(action, iteration, status);
  },
});

async function act(action: string, iteration: number, status: (d: string, s: string) => void): Promise<number> {
  const [verb, a, b] = action.split(":");
  console.log(`fake agent: iteration ${iteration}, action ${action}`);
  switch (verb) {
    case "continue":
    case "stop":
    case "error":
      status(verb, `iteration ${iteration} did ${verb}`);
      return Exit.ok;
    case "fail":
      console.error(`fake agent: simulated failure at iteration ${iteration}`);
      return 3;
    case "hang":
      await new Promise(() => {});
      return Exit.ok;
    case "crash":
      process.kill(process.pid, "SIGKILL");
      return Exit.ok;
    case "garbage":
      if (process.env.PIPELINE_STATUS) writeFileSync(process.env.PIPELINE_STATUS, "{ this is not json");
      return Exit.ok;
    case "baddecision":
      status("maybe", "an invalid decision");
      return Exit.ok;
    case "nostatus":
      return Exit.ok;
    case "hostile": {
      // hostile:fifo|zero|dir|huge:<MiB> leaves a status.json that is not a small regular file.
      const file = process.env.PIPELINE_STATUS;
      if (!file) return Exit.ok;
      if (a === "fifo") Bun.spawnSync(["mkfifo", file]);
      else if (a === "zero") symlinkSync("/dev/zero", file);
      else if (a === "dir") mkdirSync(file);
      else writeFileSync(file, `{"decision":"continue","summary":"${"x".repeat(Number(b ?? "2") << 20)}"}`);
      return Exit.ok;
    }
    case "limit":
      console.error("Claude AI usage limit reached|" + Math.floor(Date.now() / 1000 + 2));
      return 1;
    case "escape": {
      // escape:<pidfile> leaves a daemon that left the process group (setsid) and the environment (env -i).
      const child = Bun.spawn(["setsid", "env", "-i", "sleep", "300"], { stdio: ["ignore", "ignore", "ignore"] });
      if (a) writeFileSync(a, String(child.pid));
      child.unref();
      if (b) return act(b, iteration, status);
      status("continue", "left a daemon");
      return Exit.ok;
    }
    case "orphan": {
      const child = Bun.spawn(["sleep", "300"], { stdio: ["ignore", "ignore", "ignore"] });
      console.log(`fake agent: left child ${child.pid} running`);
      child.unref();
      status("continue", "left an orphan");
      return Exit.ok;
    }
    case "flood": {
      const mib = Number(a ?? "10");
      const line = `${"x".repeat(1023)}\n`;
      const chunk = line.repeat(1024);
      for (let i = 0; i < mib; i++) await Bun.write(Bun.stdout, chunk);
      status("continue", `flooded ${mib} MiB`);
      return Exit.ok;
    }
    case "verdict": {
      // As a judge: verdict:stop | verdict:continue | verdict:garbage, written where PIPELINE_STATUS points.
      const file = process.env.PIPELINE_STATUS;
      if (file) writeFileSync(file, a === "garbage" ? "not a verdict" : JSON.stringify({ stop: a === "stop", reason: `scripted ${a}`, confidence: 0.9 }));
      return Exit.ok;
    }
    case "failonce": {
      // failonce:<marker>:<action> fails the first time (creating the marker), then does <action>.
      if (a && !existsSync(a)) {
        writeFileSync(a, "");
        console.error(`fake agent: failing once (marker ${a})`);
        return 3;
      }
      return act(b ?? "continue", iteration, status);
    }
    case "sleep":
      await sleep(Number(a ?? "1") * 1000);
      return act(b ?? "continue", iteration, status);
    default:
      console.error(`fake agent: unknown action ${action}`);
      return 2;
  }
}

async function demo(iteration: number, prompt: string, status: (d: string, s: string) => void): Promise<number> {
  const steps = ["survey the repository", "draft the plan", "review and finish"];
  const step = steps[Math.min(iteration, steps.length) - 1]!;
  console.log(`demo agent, iteration ${iteration}: received a ${prompt.length}-byte prompt`);
  for (const part of ["reading context.json", "reading the progress file", `working: ${step}`]) {
    await sleep(400);
    console.log(`  … ${part}`);
  }
  const progress = process.env.PIPELINE_PROGRESS;
  if (progress) appendFileSync(progress, `\n## Iteration ${iteration} (${new Date().toISOString()})\n- ${step}\n`);
  const last = iteration >= steps.length;
  status(last ? "stop" : "continue", step);
  console.log(`  decision: ${last ? "stop (work is done)" : "continue"}`);
  return Exit.ok;
}
