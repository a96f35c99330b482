/** One thing wrong (or suspicious) with a Plan, located by its field path ("spec.drain.timeout"). */
export interface Problem {
  readonly path: string;
  readonly message: string;
  readonly severity: "error" | "warning";
}

export const error = (path: string, message: string): Problem => ({ path, message, severity: "error" });
export const warning = (path: string, message: string): Problem => ({ path, message, severity: "warning" });
