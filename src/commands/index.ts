/** Lazy registry: a verb's module (and what it imports) loads only when that verb runs. */
export const commands = Object.assign(Object.create(null) as {}, {
  start: () => import("./start.ts"),
  run: () => import("./run.ts"),
  stages: () => import("./stages.ts"),
  pipelines: () => import("./pipelines.ts"),
  _agent: () => import("./_agent.ts"),
});

export type CommandName = keyof typeof commands;

/** Names starting with `_` are hidden (internal or test-only). */
export const visibleCommands = () => (Object.keys(commands) as CommandName[]).filter((n) => !n.startsWith("_") && (n as string) !== "menu");
