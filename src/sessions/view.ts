/** The human views of list, status and tail: pure functions from data to text, so they are testable. */
import { c, compact, duration, table, usd } from "../lib/output.ts";
import type { SessionEvent } from "../store/events.ts";
import * as v from "valibot";
import { budgetTokens, HistoryEntrySchema, spendText, type HistoryEntry, type Totals } from "../store/state.ts";
import type { StatusDoc } from "./inspect.ts";
import { clock, rowTime, type Overview, type SessionRow } from "./overview.ts";
import { selfName } from "../lib/proc.ts";

const COLORS: Record<string, (s: string) => string> = {
  running: c.cyan,
  paused: c.yellow,
  complete: c.green,
  failed: c.red,
  killed: c.yellow,
  crashed: c.red,
  unreadable: c.red,
  orphaned: c.yellow,
};

export const paintStatus = (status: string) => (COLORS[status] ?? ((s: string) => s))(status);

export function listView(o: Overview, now = Date.now(), width?: number): string {
  const lines: string[] = [];
  if (o.rows.length) {
    lines.push(
      table(
        o.rows.map((r) => [
          r.archived ? c.dim(r.session) : r.session,
          r.target ?? "-",
          paintStatus(r.status) + (r.stalled ? c.yellow(" (stalled)") : ""),
          r.stage ?? "-",
          r.iteration === null ? "-" : `${r.iteration}/${r.max ?? "?"}`,
          spent(r.cost_usd, r.tokens),
          age(r, now),
          truncate(r.note, 80),
        ]),
        ["SESSION", "TARGET", "STATUS", "STAGE", "ITER", "COST", "AGE", "HEALTH"],
        width,
      ),
    );
    lines.push("", c.dim(counts(o.rows)));
  } else {
    lines.push(`no sessions here yet: '${selfName()} start <target>' starts one ('${selfName()} stages' lists what can be started)`);
  }
  if (o.foreign.length) {
    lines.push("", c.dim(`foreign tmux sessions (pipeline-* not started by sessions; left alone): ${o.foreign.join(", ")}`));
  }
  return lines.join("\n");
}

/** USD where the agents report it, else tokens: `$1.24`, `310k tok`, `-`. */
export function spent(cost: number | null, tokens: number | null): string {
  if (cost !== null && cost > 0) return usd(cost);
  if (tokens) return `${compact(tokens)} tok`;
  return cost === 0 ? usd(0) : "-";
}

/** `12 iterations, 1 failed, 1.2M tokens, $3.50, 2 commits (5 files, +30 -4)`. */
export function totalsLine(t: Totals): string {
  const parts = [`${t.iterations} iteration${t.iterations === 1 ? "" : "s"}`, `${t.failures} failed`];
  const tokens = budgetTokens(t.tokens);
  if (tokens) parts.push(`${compact(tokens)} tokens${t.tokens.cache_read ? ` (+${compact(t.tokens.cache_read)} cache reads)` : ""}`);
  if (t.cost_usd !== null) parts.push(usd(t.cost_usd));
  if (t.commits) parts.push(`${t.commits} commit${t.commits === 1 ? "" : "s"} (${t.files} file${t.files === 1 ? "" : "s"}, +${t.lines_added} -${t.lines_removed})`);
  return parts.join(", ");
}

function age(r: SessionRow, now: number): string {
  const t = rowTime(r);
  return t ? duration(now - t) : "-";
}

function counts(rows: SessionRow[]): string {
  const by = new Map<string, number>();
  for (const r of rows) by.set(r.status, (by.get(r.status) ?? 0) + 1);
  return `${rows.length} session${rows.length === 1 ? "" : "s"}: ${[...by].map(([s, n]) => `${n} ${s}`).join(", ")}`;
}

export function truncate(s: string, n: number): string {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

export function progressBar(done: number, max: number, width = 20): string {
  const f = max > 0 ? Math.min(1, Math.max(0, done / max)) : 0;
  const n = Math.round(f * width);
  return `[${"#".repeat(n)}${"-".repeat(width - n)}] ${Math.round(f * 100)}%`;
}

/** `status <s>` for a person: what it is, where it is, what happened last, what to do next. */
export function statusView(d: StatusDoc, o: { tty: boolean; now?: number }): string {
  const now = o.now ?? Date.now();
  const row = (k: string, v: string) => `  ${k.padEnd(10)} ${v}`;
  const lines = [`${c.bold(d.session)}  ${paintStatus(d.status)}${d.stalled ? c.yellow(" (stalled)") : ""}`];
  if (d.unreadable) {
    lines.push(row("problem", `${d.paths.state}: ${d.unreadable}`));
  }
  if ("target" in d) lines.push(row("target", `${d.type} ${d.target}`));
  if (d.lock?.unverifiable) lines.push(row("lock", `${d.lock.why}; if no engine of it runs anymore, 'sessions kill ${d.session}' clears it`));
  const lock = d.lock
    ? `lock pid ${d.lock.pid} ${d.lock.unverifiable ? c.yellow("unverifiable") : d.lock.stale ? c.yellow("stale") : "live"} (${d.lock.host})`
    : "no lock";
  const engine = "pid" in d && d.pid ? `pid ${d.pid} ${d.alive ? "alive" : "gone"}` : d.alive ? "alive" : "not running";
  lines.push(row("engine", `${engine}; ${lock}; tmux ${d.tmux ? "present" : "gone"}`));
  if ("stages" in d) {
    const of = d.stages.length > 1 ? ` (node ${d.current_stage + 1}/${d.stages.length})` : "";
    const done = d.iteration_completed;
    const bar = o.tty && d.max ? `  ${progressBar(done, d.max)}` : "";
    if ("runs" in d && d.runs) lines.push(row("run", `${d.run}/${d.runs}`));
    lines.push(row("stage", `${d.current_stage_id ?? "-"}${of}`));
    lines.push(row("iteration", `${d.iteration}/${d.max}${d.iteration > done ? ` (${done} done)` : ""}${bar}`));
  }
  if (d.last) {
    lines.push(row("last", `#${d.last.iteration} ${decision(d.last.decision)}${d.last.reason ? `: ${truncate(d.last.reason, 100)}` : ""}`));
    if (d.last.summary) lines.push(row("", truncate(d.last.summary, 120)));
  }
  if ("waiting_until" in d && d.waiting_until) {
    lines.push(row("waiting", `until ${clock(d.waiting_until)}${d.waiting_reason ? ` (${truncate(d.waiting_reason, 80)})` : ""}`));
  }
  // A pause request means something only to a live engine: a killed or crashed one holds nothing.
  if ("pause_requested" in d && (d.status === "paused" || (d.status === "running" && d.pause_requested))) {
    lines.push(row("paused", d.status === "paused" ? `yes: '${selfName()} resume ${d.session}' continues` : "requested: holds after the running iteration"));
  }
  if ("error" in d && d.error) {
    lines.push(row("error", `${d.error.message}${d.error.kind ? c.dim(` [${d.error.kind}]`) : ""}`));
  }
  if ("started_at" in d) {
    const end = d.completed_at ? Date.parse(d.completed_at) : d.alive ? now : Date.parse(d.updated_at);
    lines.push(row("duration", `${duration(end - Date.parse(d.started_at))} (started ${d.started_at}${d.completed_at ? `, ended ${d.completed_at}` : ""})`));
    lines.push(row("totals", totalsLine(d.totals)));
  }
  if (d.budget) {
    const b = d.budget;
    const of = (spent: string, limit: string, f: number) => `${spent} of ${limit} (${Math.round(f * 100)}%)`;
    const parts: string[] = [];
    if (b.usd !== null) parts.push(of(usd(b.spent_usd ?? 0), usd(b.usd), b.usd ? (b.spent_usd ?? 0) / b.usd : 1));
    if (b.tokens !== null) parts.push(of(`${compact(b.spent_tokens)} tokens`, compact(b.tokens), b.tokens ? b.spent_tokens / b.tokens : 1));
    lines.push(row("budget", parts.join(", ")));
  }
  if (d.commits?.length) {
    lines.push(row("commits", `${d.commits.length} by this session${d.commits.length > 5 ? " (last 5)" : ""}`));
    for (const k of d.commits.slice(-5)) lines.push(row("", `${k.hash.slice(0, 10)} ${truncate(k.subject, 90)} ${c.dim(`(#${k.iteration} ${k.stage}${k.provider ? `[${k.provider}]` : ""})`)}`));
  }
  if ("history" in d && d.history.length) {
    lines.push("", c.bold("recent iterations"));
    for (const h of d.history.slice(-5)) lines.push(`  ${historyLine(h)}`);
  }
  lines.push("", c.bold("paths"));
  lines.push(row("run dir", d.paths.run_dir), row("state", d.paths.state), row("events", d.paths.events), row("log", d.paths.log));
  const next = nextStep(d);
  if (next) lines.push("", next);
  return lines.join("\n");
}

function historyLine(h: HistoryEntry): string {
  const who = h.provider ? `${h.stage}[${h.provider}]` : h.stage;
  const what = h.decision === "failed" ? h.reason : (h.summary ?? h.reason);
  const use = spendText(h);
  return `#${String(h.iteration).padEnd(3)} ${who} ${decision(h.decision)} ${c.dim(duration(h.duration_ms))}${use ? ` ${c.dim(use)}` : ""}${what ? `  ${truncate(what, 90)}` : ""}`;
}

const decision = (d: string) => (d === "failed" || d === "error" ? c.red(d) : d === "stop" ? c.green(d) : d);

function nextStep(d: StatusDoc): string | null {
  switch (d.status) {
    case "running":
    case "paused":
      return c.dim(`watch: ${selfName()} monitor ${d.session} · events: ${selfName()} tail ${d.session} --follow · stop: ${selfName()} kill ${d.session}`);
    case "crashed":
    case "failed":
    case "killed":
      return c.dim(`continue where it stopped: ${selfName()} resume ${d.session} · log: ${selfName()} monitor ${d.session}`);
    case "unreadable":
      return c.dim(`nothing was changed; '${selfName()} resume ${d.session}' rebuilds the state from ${d.paths.events}`);
    default:
      return null;
  }
}

/** `[HH:MM:SS] type node/id #iteration [provider]: what happened`. */
export function eventLine(e: SessionEvent): string {
  const at = `[${clock(e.ts)}]`;
  const cur = e.cursor;
  const where = cur ? ` ${cur.node}/${cur.id}${cur.iteration ? ` #${cur.iteration}` : ""}${cur.provider ? ` [${cur.provider}]` : ""}` : "";
  const what = eventData(e);
  return `${c.dim(at)} ${e.type}${where}${what ? `: ${what}` : ""}`;
}

function eventData(e: SessionEvent): string {
  const d = e.data as Record<string, any>;
  switch (e.type) {
    case "iteration_complete": {
      const text = d.decision === "failed" ? d.reason : (d.summary ?? d.reason);
      const parsed = v.safeParse(HistoryEntrySchema, d);
      const use = parsed.success ? spendText(parsed.output) : "";
      return `${decision(String(d.decision))}${use ? ` (${use})` : ""}${text ? ` — ${truncate(String(text), 160)}` : ""}`;
    }
    case "session_failed":
      return d.error?.message ?? "";
    case "session_killed":
      return `by ${d.signal ?? "signal"}`;
    case "waiting":
      return `until ${d.until ? clock(String(d.until)) : "?"}${d.reason ? ` (${truncate(String(d.reason), 100)})` : ""}`;
    default:
      return Object.entries(d)
        .filter(([, v]) => v !== null && v !== undefined && typeof v !== "object")
        .map(([k, v]) => `${k}=${typeof v === "string" && /\s/.test(v) ? JSON.stringify(v) : v}`)
        .join(" ");
  }
}
