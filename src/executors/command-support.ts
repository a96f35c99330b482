// What the node-side commands share: option parsing that reports mistakes as one line (never a
// stack trace), and the choice of how to reach the host.
import { access, writeFile } from "node:fs/promises";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { HOST_MODES, createHostRunner, type HostMode, type HostRunner } from "./host-runner.ts";
import { StepFailure } from "./step-failure.ts";

/**
 * The node commands' own errors (bad option, bad value, unreadable input) exit 3: for the
 * gate, 2 and 4 are verdicts, so a usage error must not look like one.
 */
export const EXIT_BAD_INPUT = 3;
/** A step on the host failed; the message names it. */
export const EXIT_STEP_FAILED = 1;

export class BadInput extends Error {
  override readonly name = "BadInput";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

export const HOST_OPTIONS = {
  "host-mode": { type: "string" },
  "host-root": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies Options;

export const HOST_OPTIONS_HELP = `host access:
  --host-mode chroot|nsenter|local   how commands reach the host (env PLAN_RUNNER_HOST_MODE; default chroot)
                                     chroot: into --host-root; nsenter: into PID 1's namespaces (needs hostPID)
  --host-root DIR                    the host's / for chroot (env PLAN_RUNNER_HOST_ROOT; default /host)`;

/** parseArgs, strict, with its errors turned into BadInput naming the option. */
export function parseOptions<O extends Options>(argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (e: unknown) {
    throw new BadInput(e instanceof Error ? e.message : String(e));
  }
}

export function hostRunnerFrom(
  values: { "host-mode"?: string | undefined; "host-root"?: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
  log: (line: string) => void,
): HostRunner {
  const mode = values["host-mode"] ?? env["PLAN_RUNNER_HOST_MODE"] ?? "chroot";
  if (!(HOST_MODES as readonly string[]).includes(mode)) throw new BadInput(`unknown host mode "${mode}": use one of ${HOST_MODES.join(", ")}`);
  const root = values["host-root"] ?? env["PLAN_RUNNER_HOST_ROOT"] ?? "/host";
  return createHostRunner({ mode: mode as HostMode, root, log });
}

/** Milliseconds from a whole number of seconds given on the command line. */
export function seconds(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback * 1000;
  if (!/^\d+$/.test(value)) throw new BadInput(`--${name} must be a whole number of seconds, not "${value}"`);
  return Number(value) * 1000;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const TERMINATION_LOG = "/dev/termination-log";

/**
 * In a pod, the kubelet copies this file into the container's terminated state, so the controller
 * can quote why the pod failed on the Plan (kubectl describe plan) without reading its log.
 */
export async function terminationMessage(text: string, path = TERMINATION_LOG): Promise<void> {
  try {
    await access(path);
    await writeFile(path, text.slice(0, 4000));
  } catch {
    // not in a pod, or not writable: the log still has every line
  }
}

/**
 * Runs a node command's body and maps what went wrong to its exit code: bad input 3 (one line
 * naming it, then where to find help), a failed step 1 (naming the step), never a stack trace.
 * The first line is also the pod's termination message.
 */
export async function runNodeCommand(
  name: string,
  io: { err: (t: string) => void },
  body: () => Promise<number>,
  terminationLog = TERMINATION_LOG,
): Promise<number> {
  const fail = async (code: number, ...lines: string[]): Promise<number> => {
    for (const l of lines) io.err(l);
    await terminationMessage(lines[0] ?? "", terminationLog);
    return code;
  };
  try {
    return await body();
  } catch (e: unknown) {
    if (e instanceof BadInput) return fail(EXIT_BAD_INPUT, `plan-runner ${name}: ${e.message}`, `run plan-runner ${name} --help for the options`);
    if (e instanceof StepFailure) {
      return fail(
        EXIT_STEP_FAILED,
        `plan-runner ${name}: ${e.message}`,
        `plan-runner ${name}: stopped at step "${e.step}"; fix the cause and run it again: it resumes where it stopped`,
      );
    }
    return fail(EXIT_STEP_FAILED, `plan-runner ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
