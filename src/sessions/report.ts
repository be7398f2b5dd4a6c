/** `sessions report`: what a session did and what it cost, as one document or as Markdown. */
import { compact, duration, usd } from "../lib/output.ts";
import { selfName } from "../lib/proc.ts";
import { budgetTokens, totalsOf, type HistoryEntry, type Totals } from "../store/state.ts";
import { inspect, type StatusDoc } from "./inspect.ts";

/** One iteration as the report lists it: its last attempt, with what every attempt spent. */
export interface ReportIteration {
  node: number;
  stage: string;
  provider: string | null;
  iteration: number;
  decision: string;
  reason: string | null;
  summary: string | null;
  error_kind: string | null;
  started_at: string;
  ended_at: string;
  duration_ms: number;
  attempts: number;
  tokens: Totals["tokens"];
  cost_usd: number | null;
  model: string | null;
  commits: { hash: string; subject: string }[];
  files: string[];
  files_touched: string[];
}

export function reportOf(root: string, session: string) {
  const d = inspect(root, session);
  const history = d.history;
  const iterations = timeline(history);
  const stages = "stages" in d ? d.stages : [];
  const t = d.totals;
  const start = "started_at" in d ? Date.parse(d.started_at) : NaN;
  const end = "completed_at" in d && d.completed_at ? Date.parse(d.completed_at) : "updated_at" in d ? Date.parse(d.updated_at) : NaN;
  const errors = [
    ...history.filter((h) => h.decision === "failed").map((h) => ({ stage: h.stage, provider: h.provider, iteration: h.iteration, kind: h.error_kind, message: h.reason ?? "failed" })),
    ...("error" in d && d.error ? [{ stage: d.error.stage ?? null, provider: null, iteration: d.error.iteration ?? null, kind: d.error.kind ?? null, message: d.error.message, session: true }] : []),
  ];
  return {
    session: d.session,
    target: "target" in d ? d.target : null,
    type: "type" in d ? d.type : null,
    status: d.status,
    started_at: "started_at" in d ? d.started_at : null,
    completed_at: "completed_at" in d ? d.completed_at : null,
    duration_s: Number.isFinite(start) && Number.isFinite(end) ? Math.round((end - start) / 1000) : null,
    totals: t,
    budget: d.budget,
    stages: stages.map((st) => ({
      ...st,
      // A parallel block: one line per provider.
      providers: st.kind === "parallel" ? providersOf(history.filter((h) => h.node === st.index)) : null,
    })),
    iterations,
    commits: d.commits,
    errors,
    next: nextSteps(d),
    paths: d.paths,
  };
}
export type Report = ReturnType<typeof reportOf>;

/** Entries of one iteration (its failed attempts, then the one that counted) folded into one line. */
function timeline(history: HistoryEntry[]): ReportIteration[] {
  const byKey = new Map<string, HistoryEntry[]>();
  for (const h of history) {
    const k = `${h.node}/${h.provider ?? ""}/${h.stage}#${h.iteration}`;
    byKey.set(k, [...(byKey.get(k) ?? []), h]);
  }
  return [...byKey.values()].map((all) => {
    const last = all[all.length - 1]!;
    const t = totalsOf(all);
    return {
      node: last.node,
      stage: last.stage,
      provider: last.provider,
      iteration: last.iteration,
      decision: last.decision,
      reason: last.reason,
      summary: last.summary,
      error_kind: last.error_kind,
      started_at: all[0]!.started_at,
      ended_at: last.ended_at,
      duration_ms: t.duration_ms,
      attempts: all.length,
      tokens: t.tokens,
      cost_usd: t.cost_usd,
      model: last.usage?.model ?? null,
      commits: all.flatMap((h) => h.git?.commits ?? []),
      files: [...new Set(all.flatMap((h) => h.git?.files ?? []))],
      files_touched: last.files_touched,
    };
  });
}

function providersOf(history: HistoryEntry[]) {
  const ids = [...new Set(history.map((h) => h.provider ?? ""))];
  return ids.map((id) => ({ provider: id, totals: totalsOf(history.filter((h) => (h.provider ?? "") === id)) }));
}

/** What to run next, and the files worth reading. */
function nextSteps(d: StatusDoc): { commands: string[]; files: string[] } {
  const commands: string[] = [];
  const me = selfName();
  if (["failed", "killed", "crashed"].includes(d.status)) commands.push(`${me} resume ${d.session}${"error" in d && d.error?.kind === "budget" ? " --budget-usd <more>" : ""}`);
  if (d.status === "running" || d.status === "paused") commands.push(`${me} monitor ${d.session}`);
  commands.push(`${me} status ${d.session}`);
  return { commands, files: [d.paths.progress, d.paths.log, d.paths.events] };
}

/** Text from agents in a Markdown table cell: one line, no control characters, no cell breaks. */
function cell(s: string | null | undefined, max = 160): string {
  if (!s) return "";
  const one = s.replace(/[\x00-\x1f\x7f-\x9f]+/g, " ").replace(/\s+/g, " ").trim().replace(/\\/g, "\\\\").replace(/\|/g, "\\|");
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

const money = (n: number | null) => (n === null ? "-" : usd(n));
/** Tokens as a budget counts them; "-" where the agent reported none (a command agent). */
const tok = (t: Totals["tokens"]) => (budgetTokens(t) + t.cache_read ? compact(budgetTokens(t)) : "-");

function mdTable(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
}

/** The report as Markdown: readable in a terminal and on a GitHub page. */
export function reportMarkdown(r: Report): string {
  const t = r.totals;
  const L: string[] = [`# Session ${r.session}`, ""];
  L.push(
    `- **Target:** ${cell(r.target ?? "-")}${r.type ? ` (${r.type})` : ""}`,
    `- **Status:** ${r.status}`,
    `- **Duration:** ${r.duration_s === null ? "-" : duration(r.duration_s * 1000)}${r.started_at ? ` (started ${r.started_at}${r.completed_at ? `, ended ${r.completed_at}` : ""})` : ""}`,
    `- **Iterations:** ${t.iterations} (${t.failures} failed attempt${t.failures === 1 ? "" : "s"})`,
    `- **Tokens:** ${tok(t.tokens)} (input ${compact(t.tokens.input)}, output ${compact(t.tokens.output)}, cache write ${compact(t.tokens.cache_write)}, cache read ${compact(t.tokens.cache_read)})`,
    `- **Cost:** ${t.cost_usd === null ? "not reported" : usd(t.cost_usd)}`,
    `- **Commits:** ${t.commits} (${t.files} file${t.files === 1 ? "" : "s"}, +${t.lines_added} −${t.lines_removed})`,
  );
  if (r.budget) {
    const b = r.budget;
    L.push(`- **Budget:** ${[b.usd !== null ? `${money(b.spent_usd)} of ${usd(b.usd)}` : "", b.tokens !== null ? `${compact(b.spent_tokens)} of ${compact(b.tokens)} tokens` : ""].filter(Boolean).join(", ")}`);
  }
  L.push("", "## Stages", "");
  L.push(
    ...mdTable(
      ["#", "stage", "status", "iterations", "failed", "tokens", "cost", "commits", "reason"],
      r.stages.map((s) => [String(s.index), cell(s.id), s.status, `${s.iterations}/${s.max}`, String(s.totals.failures), tok(s.totals.tokens), money(s.totals.cost_usd), String(s.totals.commits), cell(s.reason, 100)]),
    ),
  );
  for (const s of r.stages) {
    if (!s.providers) continue;
    L.push("", `### Parallel block ${cell(s.id)}`, "");
    L.push(...mdTable(["provider", "iterations", "failed", "tokens", "cost", "commits"], s.providers.map((p) => [cell(p.provider), String(p.totals.iterations), String(p.totals.failures), tok(p.totals.tokens), money(p.totals.cost_usd), String(p.totals.commits)])));
  }
  L.push("", "## Timeline", "");
  if (!r.iterations.length) L.push("No iterations ran.");
  else {
    L.push(
      ...mdTable(
        ["stage", "#", "decision", "summary / reason", "tokens", "cost", "time", "files", "commits", "attempts"],
        r.iterations.map((i) => [
          cell(i.provider ? `${i.stage}[${i.provider}]` : i.stage),
          String(i.iteration),
          i.decision === "failed" ? `**failed**${i.error_kind ? ` (${i.error_kind})` : ""}` : i.decision,
          cell(i.decision === "failed" ? i.reason : (i.summary ?? i.reason)),
          tok(i.tokens),
          money(i.cost_usd),
          duration(i.duration_ms),
          String(i.files.length),
          i.commits.map((c) => `\`${c.hash.slice(0, 7)}\` ${cell(c.subject, 60)}`).join("<br>") || "-",
          String(i.attempts),
        ]),
      ),
    );
  }
  if (r.errors.length) {
    L.push("", "## Errors", "");
    for (const e of r.errors) L.push(`- ${"session" in e ? "**session:** " : ""}${cell(e.stage ?? "-")}${e.provider ? `[${cell(e.provider)}]` : ""}${e.iteration ? ` #${e.iteration}` : ""}${e.kind ? ` \`${e.kind}\`` : ""}: ${cell(e.message, 300)}`);
  }
  L.push("", "## Next", "");
  for (const s of r.next.commands) L.push(`- \`${s}\``);
  for (const f of r.next.files) L.push(`- read \`${f}\``);
  return `${L.join("\n")}\n`;
}
