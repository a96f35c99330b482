import type { HostRunner } from "./host-runner.ts";

/** What every host procedure is given, so tests run it against a recording runner and a fake clock. */
export interface ProcedureDeps {
  readonly runner: HostRunner;
  /** The procedure's own progress lines (command output is logged by the runner). */
  readonly log: (line: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
}

export const APT_ENV = { DEBIAN_FRONTEND: "noninteractive" } as const;
