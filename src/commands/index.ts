/** Lazy registry: a verb's module (and what it imports) loads only when that verb runs. */
export const commands = Object.assign(Object.create(null) as {}, {
  start: () => import("./start.ts"),
  list: () => import("./list.ts"),
  status: () => import("./status.ts"),
  monitor: () => import("./monitor.ts"),
  attach: () => import("./attach.ts"),
  kill: () => import("./kill.ts"),
  cleanup: () => import("./cleanup.ts"),
  rm: () => import("./rm.ts"),
  prune: () => import("./prune.ts"),
  resume: () => import("./resume.ts"),
  pause: () => import("./pause.ts"),
  tail: () => import("./tail.ts"),
  report: () => import("./report.ts"),
  watch: () => import("./watch.ts"),
  wait: () => import("./wait.ts"),
  doctor: () => import("./doctor.ts"),
  menu: () => import("./menu.ts"),
  stages: () => import("./stages.ts"),
  pipelines: () => import("./pipelines.ts"),
  lint: () => import("./lint.ts"),
  skill: () => import("./skill.ts"),
  completion: () => import("./completion.ts"),
  run: () => import("./run.ts"),
  _agent: () => import("./_agent.ts"),
  _complete: () => import("./_complete.ts"),
});

export type CommandName = keyof typeof commands;

/** Hidden from help: `_`-prefixed verbs (the fake agent) and the menu (what bare `sessions` opens). */
export const visibleCommands = () => (Object.keys(commands) as CommandName[]).filter((n) => !n.startsWith("_") && n !== "menu");
