import { closeSync, openSync, readdirSync, statSync, writeSync } from "node:fs";
import { groupAlive, killGroup, procStat, waitFor } from "../../lib/proc.ts";
import { readAgentStatus } from "../status.ts";

/** What the agent's process printed, turned into text for people (and kept raw where it is structured). */
export interface OutputParser {
  /** One line of stdout → the text to show and keep in output.md ("" shows nothing). */
  line(line: string): string;
}

export interface SpawnRequest {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  prompt: string;
  timeoutMs: number;
  /** output.md: what people read. */
  outputPath: string;
  /** The raw stdout, for structured providers. */
  rawPath: string | null;
  statusPath: string;
  parser: OutputParser | null;
  /** Live output for the terminal and engine.log (capped by the caller). */
  echo: (text: string) => void;
  /** True once echo would drop everything (its caps are reached): skip making text for it. */
  echoSaturated?: () => boolean;
  /** Called with the agent's process group once it runs. */
  onStart?: (pgid: number) => void;
  /** Resolves to ask the agent to stop now (a signal to the engine). */
  abort?: AbortSignal;
  /** After a valid status.json appears, how long the agent may linger before it is ended. */
  lingerMs?: number;
}

export interface SpawnResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  /** The agent wrote its status but did not exit: it was ended and counts as done. */
  endedAfterStatus: boolean;
  spawnError: string | null;
  durationMs: number;
  stderrTail: string;
  outputBytes: number;
}

const TAIL = 4096;
const MAX_LINE = 1024 * 1024;

/**
 * Run one agent process in a process group of its own, prompt on stdin, and stream its output
 * to output.md with flat memory. The whole group is ended afterwards, so children that outlive
 * the agent die with it.
 */
export async function spawnAgent(req: SpawnRequest): Promise<SpawnResult> {
  const started = performance.now();
  const out = openSync(req.outputPath, "a");
  const raw = req.rawPath ? openSync(req.rawPath, "a") : null;
  let outputBytes = 0;
  let stderrTail = "";
  const result: SpawnResult = {
    exitCode: null,
    signal: null,
    timedOut: false,
    aborted: false,
    endedAfterStatus: false,
    spawnError: null,
    durationMs: 0,
    stderrTail: "",
    outputBytes: 0,
  };
  const emit = (text: string) => {
    if (!text) return;
    writeSync(out, text);
    outputBytes += text.length;
    req.echo(text);
  };

  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(req.argv, {
      cwd: req.cwd,
      env: req.env,
      stdin: new Blob([req.prompt]),
      stdout: "pipe",
      stderr: "pipe",
      detached: true,
    });
  } catch (e) {
    closeSync(out);
    if (raw !== null) closeSync(raw);
    result.spawnError = (e as Error).message;
    result.durationMs = performance.now() - started;
    return result;
  }
  const pgid = proc.pid;
  req.onStart?.(pgid);
  const escaped = new Descendants(pgid);

  const decoders = { out: new TextDecoder(), err: new TextDecoder() };
  const pump = async (stream: ReadableStream<Uint8Array>, onChunk: (b: Uint8Array) => void) => {
    for await (const chunk of stream) onChunk(chunk);
  };
  let pending = "";
  const onStdout = (bytes: Uint8Array) => {
    if (raw !== null) writeSync(raw, bytes);
    if (!req.parser) {
      // Plain output goes to output.md as bytes; text is made only while someone still shows it.
      writeSync(out, bytes);
      outputBytes += bytes.length;
      if (!req.echoSaturated?.()) req.echo(decoders.out.decode(bytes, { stream: true }));
      return;
    }
    pending += decoders.out.decode(bytes, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      emit(req.parser.line(pending.slice(0, nl)));
      pending = pending.slice(nl + 1);
    }
    if (pending.length > MAX_LINE) {
      emit(req.parser.line(pending));
      pending = "";
    }
  };
  const onStderr = (bytes: Uint8Array) => {
    const s = decoders.err.decode(bytes, { stream: true });
    stderrTail = (stderrTail + s).slice(-TAIL);
    emit(s);
  };
  const pumps = Promise.all([pump(proc.stdout as ReadableStream<Uint8Array>, onStdout), pump(proc.stderr as ReadableStream<Uint8Array>, onStderr)]).catch(() => {});

  const stop = async (graceMs: number) => {
    escaped.refresh();
    killGroup(pgid, "SIGTERM");
    escaped.signal("SIGTERM");
    const gone = await waitFor(() => proc.exitCode !== null || proc.signalCode !== null, graceMs, 25);
    if (!gone || groupAlive(pgid)) killGroup(pgid, "SIGKILL");
    escaped.signal("SIGKILL");
  };

  const timer = setTimeout(() => {
    result.timedOut = true;
    void stop(3000);
  }, req.timeoutMs);
  const onAbort = () => {
    result.aborted = true;
    void stop(2000);
  };
  req.abort?.addEventListener("abort", onAbort, { once: true });
  if (req.abort?.aborted) onAbort();

  // Some agents (Codex) linger for minutes after writing their status: end them once it is valid.
  // The same tick notes what the agent started outside its group.
  let seenAt = 0;
  let lastMtime = 0;
  const linger = req.lingerMs ?? 0;
  const watchdog = setInterval(() => {
    escaped.refresh();
    if (linger <= 0) return;
    let mtime = 0;
    try {
      mtime = statSync(req.statusPath).mtimeMs;
    } catch {}
    if (mtime && mtime !== lastMtime) {
      lastMtime = mtime;
      seenAt = readAgentStatus(req.statusPath).ok ? performance.now() : 0;
    }
    if (seenAt && performance.now() - seenAt >= linger) {
      clearInterval(watchdog);
      result.endedAfterStatus = true;
      void stop(2000);
    }
  }, 1000);

  await proc.exited;
  clearTimeout(timer);
  clearInterval(watchdog);
  req.abort?.removeEventListener("abort", onAbort);
  // The agent is gone; its children go with it (they may hold the output pipes open).
  escaped.refresh();
  if (groupAlive(pgid) || escaped.alive().length) {
    killGroup(pgid, "SIGTERM");
    escaped.signal("SIGTERM");
    if (!(await waitFor(() => !groupAlive(pgid) && !escaped.alive().length, 1000, 25))) {
      killGroup(pgid, "SIGKILL");
      escaped.signal("SIGKILL");
    }
  }
  // Output pipes still held open by something that escaped the group must not hold the engine.
  let drainTimer: Timer | undefined;
  await Promise.race([pumps, new Promise<void>((r) => (drainTimer = setTimeout(r, 2000)))]);
  clearTimeout(drainTimer);
  if (req.parser && pending) emit(req.parser.line(pending));
  closeSync(out);
  if (raw !== null) closeSync(raw);
  result.exitCode = proc.signalCode ? null : proc.exitCode;
  result.signal = proc.signalCode ? String(proc.signalCode) : null;
  result.durationMs = performance.now() - started;
  result.stderrTail = stderrTail;
  result.outputBytes = outputBytes;
  return result;
}

/**
 * What the agent started outside its process group: Codex runs each command in a session of its
 * own (setsid) and leaves it running when it is ended; Claude Code does the same for Bash commands.
 * Found by parentage while the agent runs (an orphan moves to init, so the tree is noted every
 * tick), told apart from a reused pid by its start time, and ended with the agent.
 */
class Descendants {
  private known = new Map<number, string>();
  constructor(private readonly leader: number) {}

  refresh(): void {
    let entries: string[];
    try {
      entries = readdirSync("/proc");
    } catch {
      return;
    }
    const children = new Map<number, { pid: number; start: string }[]>();
    for (const e of entries) {
      if (e.charCodeAt(0) > 57) continue;
      const f = procStat(Number(e));
      if (!f) continue;
      const ppid = Number(f[1]);
      const list = children.get(ppid) ?? [];
      list.push({ pid: Number(e), start: f[19] ?? "" });
      children.set(ppid, list);
    }
    // From the agent and from every tracked process still running: an orphan's children are still its own.
    const queue = [this.leader, ...this.live(false)];
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

  /** Tracked processes still running as themselves, outside the agent's group. */
  alive(): number[] {
    return this.live(true);
  }

  private live(outsideOnly: boolean): number[] {
    const out: number[] = [];
    for (const [pid, start] of this.known) {
      const f = procStat(pid);
      if (!f || f[19] !== start || f[0] === "Z" || f[0] === "X") this.known.delete(pid);
      else if (!outsideOnly || Number(f[2]) !== this.leader) out.push(pid);
    }
    return out;
  }

  /** Each one, and the group it leads (a command's shell and what it started). */
  signal(sig: NodeJS.Signals): void {
    for (const pid of this.alive()) {
      const f = procStat(pid);
      if (f && Number(f[2]) === pid) killGroup(pid, sig);
      try {
        process.kill(pid, sig);
      } catch {}
    }
  }
}
