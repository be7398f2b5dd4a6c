/**
 * The only module that runs tmux. Every call is an argument array (never a shell string), and every
 * target is exact (`=name`): a bare `-t pipeline-foo` would also match `pipeline-foobar`.
 */
import { missingDep } from "./lib/errors.ts";
import { which } from "./lib/proc.ts";
import { write as print } from "./lib/output.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";

export const ROOT_OPTION = "@sessions_root";

let bin: string | null | undefined;
export function tmuxBin(): string | null {
  if (bin === undefined) bin = which("tmux");
  return bin;
}

export function requireTmux(): string {
  const b = tmuxBin();
  if (!b) {
    throw missingDep("tmux is not installed (not found on PATH)", {
      hint: "install it (apt-get install tmux / brew install tmux), or run with --foreground",
      details: { missing: "tmux", install: "apt-get install tmux" },
    });
  }
  return b;
}

export interface TmuxResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function tmux(args: string[], opts: { env?: Record<string, string | undefined> } = {}): TmuxResult {
  const b = tmuxBin();
  if (!b) return { code: 127, stdout: "", stderr: "tmux not found" };
  const r = Bun.spawnSync([b, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: opts.env ?? process.env });
  return { code: r.exitCode ?? 1, stdout: r.stdout.toString(), stderr: r.stderr.toString().trim() };
}

export const exact = (name: string) => `=${name}`;
/** set-option, capture-pane and display-message refuse `=name` alone and want a window part. */
export const exactPane = (name: string) => `=${name}:`;

export interface NewSession {
  name: string;
  cwd: string;
  argv: string[];
  env?: Record<string, string>;
  root: string;
  keep: boolean;
}

/** The argv of one tmux call that creates the session, marks it ours and (with keep) keeps it open. */
export function newSessionArgs(s: NewSession): string[] {
  const args = ["new-session", "-d", "-s", s.name, "-c", s.cwd, "-x", "200", "-y", "50"];
  for (const [k, v] of Object.entries(s.env ?? {})) args.push("-e", `${k}=${v}`);
  args.push("--", ...s.argv);
  args.push(";", "set-option", "-t", exactPane(s.name), ROOT_OPTION, s.root);
  if (s.keep) args.push(";", "set-option", "-t", exactPane(s.name), "remain-on-exit", "on");
  return args;
}

export function newSession(s: NewSession): TmuxResult {
  requireTmux();
  return tmux(newSessionArgs(s));
}

export interface TmuxSession {
  name: string;
  root: string | null;
  created: number;
  panePid: number | null;
  paneDead: boolean;
  attached: boolean;
}

const FORMAT = ["#{session_name}", `#{${ROOT_OPTION}}`, "#{session_created}", "#{pane_pid}", "#{pane_dead}", "#{session_attached}"].join("\t");

/** Every session of the server, in one call; an absent server or tmux means none. */
/**
 * Whether a tmux server may be running: its socket exists (the one $TMUX names inside tmux, else
 * `$TMUX_TMPDIR/tmux-<uid>/default`). Without one there are no sessions, and asking costs a process.
 */
function serverMayRun(): boolean {
  const socket = process.env.TMUX ? process.env.TMUX.split(",")[0]! : join(process.env.TMUX_TMPDIR || "/tmp", `tmux-${process.getuid?.() ?? 0}`, "default");
  return existsSync(socket);
}

export function listSessions(): TmuxSession[] {
  if (!serverMayRun()) return [];
  const r = tmux(["list-sessions", "-F", FORMAT]);
  if (r.code !== 0) return [];
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [name, root, created, pid, dead, attached] = line.split("\t");
      return {
        name: name!,
        root: root || null,
        created: Number(created) * 1000,
        panePid: pid ? Number(pid) : null,
        paneDead: dead === "1",
        attached: Number(attached) > 0,
      };
    });
}

export function hasSession(name: string): boolean {
  return serverMayRun() && tmux(["has-session", "-t", exact(name)]).code === 0;
}

export function killSession(name: string): boolean {
  return tmux(["kill-session", "-t", exact(name)]).code === 0;
}

export function capturePane(name: string, lines: number): string | null {
  const r = tmux(["capture-pane", "-p", "-J", "-t", exactPane(name), "-S", `-${lines}`]);
  if (r.code !== 0) return null;
  return r.stdout;
}

export const insideTmux = () => !!process.env.TMUX;

/**
 * Attach read-only unless `write`. From inside tmux, read-only is a new window of the user's own
 * session running a read-only client of the pipeline: typing and Ctrl-C reach nothing, and when the
 * pipeline ends that client exits, the window closes and the user is back where they were.
 * Switching the user's own client over would make it writable and end it with the pipeline.
 */
export async function attach(name: string, write: boolean): Promise<number> {
  const b = requireTmux();
  if (insideTmux() && !write) {
    const socket = process.env.TMUX!.split(",")[0]!;
    // TMUX empty: tmux refuses a nested client while it is set; -S keeps it on this server.
    const r = tmux(["new-window", "-n", `${name} (read-only)`, "-e", "TMUX=", "--", b, "-S", socket, "attach-session", "-r", "-t", exact(name)]);
    if (r.code !== 0) print(2, `${r.stderr}\n`);
    return r.code;
  }
  // --write inside tmux switches the user's own client; when the pipeline ends, tmux moves it to
  // another session (the one it came from, most recently used) instead of detaching it.
  if (insideTmux()) tmux(["set-option", "-t", exactPane(name), "detach-on-destroy", "off"]);
  const args = insideTmux() ? ["switch-client", "-t", exact(name)] : ["attach-session", ...(write ? [] : ["-r"]), "-t", exact(name)];
  const p = Bun.spawn([b, ...args], { stdio: ["inherit", "inherit", "inherit"] });
  return await p.exited;
}
