/**
 * Why a step on the host failed. `exit`, `signal`, `timeout` and `spawn` come from the command
 * itself; `check` is a procedure's own verdict on what a command reported (a snapshot too small,
 * a node still on the old version).
 */
export type FailureKind = "exit" | "signal" | "timeout" | "spawn" | "check";

/** A host step that did not succeed. Always names the step, so a pod log says where to resume. */
export class StepFailure extends Error {
  override readonly name = "StepFailure";
  readonly step: string;
  readonly kind: FailureKind;
  readonly argv: readonly string[];
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderr: string;

  constructor(init: { step: string; kind: FailureKind; detail: string; argv?: readonly string[]; exitCode?: number; signal?: string; stderr?: string }) {
    super(`step "${init.step}" failed: ${init.detail}`);
    this.step = init.step;
    this.kind = init.kind;
    this.argv = init.argv ?? [];
    this.exitCode = init.exitCode;
    this.signal = init.signal;
    this.stderr = init.stderr ?? "";
  }
}

/** A procedure's own refusal, named after the step whose output it judged. */
export function checkFailed(step: string, detail: string): StepFailure {
  return new StepFailure({ step, kind: "check", detail });
}

/** Quotes argv for display only; commands are always run from the array, never from this text. */
export function displayArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(" ");
}

/** The last few lines of a command's error output, to put in a failure message. */
export function tail(text: string, lines = 5): string {
  const kept = text.trimEnd().split("\n").slice(-lines).join("\n");
  return kept === "" ? "" : `\n${kept}`;
}

/**
 * Turns a finished command into a failure unless its exit code is one the caller expects
 * (0, or e.g. `test -e` answering 1). Shared by every runner so a fake fails exactly like the host.
 */
export function judgeExit(step: string, argv: readonly string[], exitCode: number, stderr: string, okExitCodes: readonly number[] = [0]): void {
  if (okExitCodes.includes(exitCode)) return;
  throw new StepFailure({
    step,
    kind: "exit",
    argv,
    exitCode,
    stderr,
    detail: `${displayArgv(argv)} exited with code ${exitCode}${tail(stderr)}`,
  });
}
