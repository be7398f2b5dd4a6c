import { usage } from "./errors.ts";

export const SESSION_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** Targets may also be a path to a .yaml file; names follow the session rule plus `_`. */
export const DEF_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function checkSessionName(name: string): string {
  if (!SESSION_NAME.test(name)) {
    throw usage(`invalid session name ${JSON.stringify(name)}`, {
      hint: "use 1-64 lower-case letters, digits and '-', starting with a letter or digit",
    });
  }
  return name;
}

export const TMUX_PREFIX = "pipeline-";
export const tmuxName = (session: string) => `${TMUX_PREFIX}${session}`;

/** Six hex digits that stay the same for a root: what tells two projects' `ralph` apart on one tmux server. */
export const rootTag = (root: string) => Bun.hash.crc32(root).toString(16).padStart(8, "0").slice(0, 6);

/**
 * The tmux names a session of `root` may run under. tmux names are per server, sessions per
 * project: the first project to run `ralph` gets `pipeline-ralph`, another one at the same time
 * `pipeline-ralph-<rootTag>`. Which one is this root's is told by its @sessions_root, never by the name.
 */
export const tmuxNames = (root: string, session: string) => [tmuxName(session), `${tmuxName(session)}-${rootTag(root)}`];

/** The session a tmux name of this root stands for (`known` tells `x-<tag>` the session from `x` tagged). */
export function sessionOfTmux(root: string, name: string, known: (session: string) => boolean): string | null {
  if (!name.startsWith(TMUX_PREFIX)) return null;
  const full = name.slice(TMUX_PREFIX.length);
  const tag = `-${rootTag(root)}`;
  return full.endsWith(tag) && !known(full) ? full.slice(0, -tag.length) : full;
}

/** A run kept by `start --force`: `{session}.{YYYYMMDDTHHMMSS}`, with `-N` when that second is taken. */
export const ARCHIVED_RUN = /^[a-z0-9][a-z0-9-]{0,63}\.\d{8}T\d{6}(-\d+)?$/;
export const archiveName = (session: string, at: Date, n: number) =>
  `${session}.${at.toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}${n ? `-${n}` : ""}`;

/** Session name derived from a target: a definition name or a file's base name. */
export function defaultSessionName(target: string): string {
  const base = target.split("/").pop()!.replace(/\.ya?ml$/, "");
  return base.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64) || "session";
}
