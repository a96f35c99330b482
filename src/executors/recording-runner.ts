import type { HostRunner, RunOptions, RunResult } from "./host-runner.ts";
import { judgeExit } from "./step-failure.ts";

export interface RecordedCall {
  readonly step: string;
  readonly argv: readonly string[];
  readonly input?: string;
}

export interface Reply {
  readonly exitCode?: number;
  readonly stdout?: string;
  readonly stderr?: string;
}

/** Answers one command as a host would; tests model the host's state behind it. */
export type Responder = (call: RecordedCall) => Reply | Promise<Reply>;

/**
 * A HostRunner that records every call and asks `respond` for the outcome. It fails exactly as
 * the real runner does (same exit-code rule), so procedures cannot tell the difference.
 */
export class RecordingRunner implements HostRunner {
  readonly calls: RecordedCall[] = [];
  readonly #respond: Responder;

  constructor(respond: Responder) {
    this.#respond = respond;
  }

  async run(step: string, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const call: RecordedCall = opts.input === undefined ? { step, argv: [...argv] } : { step, argv: [...argv], input: opts.input };
    this.calls.push(call);
    const reply = await this.#respond(call);
    const result = { exitCode: reply.exitCode ?? 0, stdout: reply.stdout ?? "", stderr: reply.stderr ?? "" };
    judgeExit(step, argv, result.exitCode, result.stderr, opts.okExitCodes);
    return result;
  }

  /** Each call as one line, `step: argv...`, for exact-order assertions. */
  transcript(): string[] {
    return this.calls.map((c) => `${c.step}: ${c.argv.join(" ")}`);
  }
}
