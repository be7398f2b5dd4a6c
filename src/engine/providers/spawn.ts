import { closeSync, openSync, statSync, writeSync } from "node:fs";
import { inCgroup } from "../../lib/cgroup.ts";
import { Descendants, stopGroup } from "../../lib/proc.ts";
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
  /** A cgroup the agent joins before it starts (every descendant stays in it), or none. */
  cgroup?: string | null;
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
    proc = Bun.spawn(inCgroup(req.cgroup ?? null, req.argv), {
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
  // In a cgroup nothing can leave unseen; elsewhere the agent's descendants are followed by parent pid.
  const escaped = req.cgroup ? null : new Descendants(pgid);

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

  // The group, and (without a cgroup to hold them) what the agent started outside it.
  const stop = async (graceMs: number) => {
    escaped?.refresh();
    await Promise.all([stopGroup(pgid, graceMs), escaped?.stop(graceMs)]);
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
    escaped?.refresh();
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
  await stop(1000);
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
