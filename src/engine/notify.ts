// The desktop notification when a session ends (--notify): notify-send or osascript, bounded, best effort.
import type { Plan } from "../defs/plan.ts";
import { which } from "../lib/proc.ts";
import type { State } from "../store/state.ts";

/**
 * A desktop notification when a session ends: notify-send on Linux, osascript on macOS. Best
 * effort and bounded: a missing notifier or a hung one never holds the engine.
 */
export async function notify(title: string, body: string): Promise<void> {
  const argv = notifierArgv(title, body);
  if (!argv) return;
  try {
    const p = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore", timeout: 5000 });
    await p.exited;
  } catch {}
}

export function notifierArgv(title: string, body: string, platform = process.platform, find: (bin: string) => string | null = which): string[] | null {
  if (platform === "darwin") {
    const osa = find("osascript");
    // AppleScript string literals: the agent's text must not end the literal early.
    const q = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/[\r\n]+/g, " ")}"`;
    return osa ? [osa, "-e", `display notification ${q(body)} with title ${q(title)}`] : null;
  }
  const send = find("notify-send");
  return send ? [send, "--app-name=sessions", title, body] : null;
}

/** The notification of --notify (or SESSIONS_NOTIFY=1), once a session's state is final. */
export async function announce(plan: Plan, s: State): Promise<void> {
  if (!plan.notify && process.env.SESSIONS_NOTIFY !== "1") return;
  const why = s.status === "complete" ? (s.completion_reason ?? "") : (s.error?.message ?? "");
  await notify(`sessions: ${s.session} ${s.status}`, `${plan.target.name}, ${s.iteration_completed} iteration(s)${why ? `: ${why}` : ""}`.slice(0, 300));
}
