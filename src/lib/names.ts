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

export const tmuxName = (session: string) => `pipeline-${session}`;

/** A run kept by `start --force`: `{session}.{YYYYMMDDTHHMMSS}`, with `-N` when that second is taken. */
export const ARCHIVED_RUN = /^[a-z0-9][a-z0-9-]{0,63}\.\d{8}T\d{6}(-\d+)?$/;
export const archiveName = (session: string, at: Date, n: number) =>
  `${session}.${at.toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}${n ? `-${n}` : ""}`;

/** Session name derived from a target: a definition name or a file's base name. */
export function defaultSessionName(target: string): string {
  const base = target.split("/").pop()!.replace(/\.ya?ml$/, "");
  return base.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64) || "session";
}

/** A short, stable tag of a project root, to tell two projects' same-named sessions apart in machine-wide names. */
export const rootTag = (root: string) => Bun.hash(root).toString(36).slice(0, 8);
