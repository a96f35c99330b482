// The one place that starts processes on the host. Every procedure gets a HostRunner as a
// parameter, so tests swap in a recording fake or a chroot into a throwaway Debian root.
import { execa } from "execa";
import { StepFailure, displayArgv, judgeExit, tail } from "./step-failure.ts";

export interface RunOptions {
  /** Kill the command after this long (default 5 minutes): a hung apt lock must not hang the pod forever. */
  readonly timeoutMs?: number;
  /** Written to the command's stdin. */
  readonly input?: string;
  /** Added to the host's minimal environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Exit codes that are answers, not failures (default [0]). */
  readonly okExitCodes?: readonly number[];
  /** Keep stdout out of the log: file contents and machine-readable answers. */
  readonly quiet?: boolean;
}

export interface RunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs one command on the host as an argv array (never through a shell, so no user value is
 * ever interpreted) and fails with a StepFailure naming `step` unless the exit code is expected.
 */
export interface HostRunner {
  run(step: string, argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/**
 * chroot: into the host's / mounted at `root` (SUC mounts it at /host);
 * nsenter: into PID 1's namespaces (needs hostPID), where systemd and the real /run are;
 * local: as is, on this machine (development, and tests of the runner itself).
 */
export type HostMode = "chroot" | "nsenter" | "local";
export const HOST_MODES: readonly HostMode[] = ["chroot", "nsenter", "local"];

export interface HostRunnerConfig {
  readonly mode: HostMode;
  /** The host's root for chroot mode. */
  readonly root?: string;
  /** Receives every line the commands print, prefixed with `[step]`. */
  readonly log: (line: string) => void;
  readonly defaultTimeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const KILL_GRACE_MS = 5_000;

/** A predictable environment: the pod's variables (tokens, service addresses) never reach the host. */
const HOST_ENV: Readonly<Record<string, string>> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LC_ALL: "C",
  HOME: "/root",
};

/**
 * systemctl turns restart, daemon-reload and reboot into silent no-ops when it finds itself in a
 * chroot; the host's systemd is reachable through the host's /run, so tell it to act.
 */
const CHROOT_ENV: Readonly<Record<string, string>> = { SYSTEMD_IGNORE_CHROOT: "1" };

/** The argv actually executed for `argv` on the host in the given mode. */
export function hostArgv(mode: HostMode, root: string | undefined, argv: readonly string[]): string[] {
  switch (mode) {
    case "chroot":
      return ["chroot", root ?? "/host", ...argv];
    case "nsenter":
      return ["nsenter", "-t", "1", "-m", "-u", "-i", "-n", "-p", "--", ...argv];
    case "local":
      return [...argv];
  }
}

/** A command killed at its timeout, as the step's failure says it. */
export function timedOut(step: string, argv: readonly string[], stderr: string, timeoutMs: number): StepFailure {
  const within = timeoutMs < 1000 ? `${timeoutMs}ms` : `${Math.round(timeoutMs / 1000)}s`;
  return new StepFailure({ step, kind: "timeout", argv, stderr, detail: `${displayArgv(argv)} did not finish within ${within} and was killed${tail(stderr)}` });
}

/** The exit code of a command that ran; a StepFailure saying why for one that timed out, was killed or never started. */
function exitOf(
  step: string,
  argv: readonly string[],
  result: { timedOut: boolean; signal?: string | undefined; exitCode?: number | undefined; code?: string | undefined; shortMessage?: string | undefined },
  stderr: string,
  timeoutMs: number,
  config: HostRunnerConfig,
): number {
  if (result.timedOut) throw timedOut(step, argv, stderr, timeoutMs);
  if (result.signal !== undefined) {
    throw new StepFailure({
      step,
      kind: "signal",
      argv,
      stderr,
      signal: result.signal,
      detail: `${displayArgv(argv)} was killed by ${result.signal}${tail(stderr)}`,
    });
  }
  if (result.exitCode === undefined) {
    const why = result.code ?? result.shortMessage ?? "could not start";
    throw new StepFailure({
      step,
      kind: "spawn",
      argv,
      stderr,
      detail: `${displayArgv(hostArgv(config.mode, config.root, argv))} could not be started (${why})`,
    });
  }
  return result.exitCode;
}

export function createHostRunner(config: HostRunnerConfig): HostRunner {
  const { log } = config;
  return {
    async run(step, argv, opts = {}) {
      if (argv.length === 0) throw new StepFailure({ step, kind: "spawn", detail: "empty command" });
      const timeoutMs = opts.timeoutMs ?? config.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
      const [file, ...args] = hostArgv(config.mode, config.root, argv);
      const prefix = `[${step}] `;
      log(`${prefix}$ ${displayArgv(argv)}`);
      const echo = function* (line: unknown) {
        log(prefix + String(line));
        yield line;
      };
      const result = await execa(file as string, args, {
        reject: false,
        extendEnv: false,
        env: { ...HOST_ENV, ...(config.mode === "chroot" ? CHROOT_ENV : {}), ...opts.env },
        cwd: "/",
        timeout: timeoutMs,
        killSignal: "SIGTERM",
        forceKillAfterDelay: KILL_GRACE_MS,
        ...(opts.input === undefined ? { stdin: "ignore" as const } : { input: opts.input }),
        stdout: opts.quiet === true ? "pipe" : [echo],
        stderr: [echo],
        encoding: "utf8",
        // file contents pass through unchanged (a rewritten apt source keeps its final newline)
        stripFinalNewline: false,
      });
      const stdout = typeof result.stdout === "string" ? result.stdout : "";
      const stderr = typeof result.stderr === "string" ? result.stderr : "";
      const exitCode = exitOf(step, argv, result, stderr, timeoutMs, config);
      judgeExit(step, argv, exitCode, stderr, opts.okExitCodes);
      return { exitCode, stdout, stderr };
    },
  };
}
