import { type ParseArgsConfig, parseArgs } from "node:util";

/** What a command needs from its surroundings; tests pass buffers, main passes the process. */
export interface CliIO {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Whether stderr is a terminal (the controller's default log format follows it). */
  readonly errIsTTY?: boolean;
}

export type Command = (argv: readonly string[], io: CliIO) => Promise<number>;

/** Exit codes shared by the commands: 0 ok, 1 the input is wrong, 2 the command line is wrong. */
export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

export function processIO(): CliIO {
  return {
    out: (t) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
    err: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
    env: process.env,
    cwd: process.cwd(),
    errIsTTY: process.stderr.isTTY,
  };
}

/** Collects output, for tests of commands. */
export function bufferIO(env: Record<string, string | undefined> = {}, cwd = process.cwd()): CliIO & { stdout: () => string; stderr: () => string } {
  let o = "";
  let e = "";
  return {
    out: (t) => void (o += t.endsWith("\n") ? t : `${t}\n`),
    err: (t) => void (e += t.endsWith("\n") ? t : `${t}\n`),
    env,
    cwd,
    stdout: () => o,
    stderr: () => e,
  };
}

/**
 * A command's own flags: a command line parseArgs refuses prints why and the help (exit 2),
 * `--help` prints the help (exit 0); either way the number is what the command returns.
 */
export function parseCommandLine<const O extends NonNullable<ParseArgsConfig["options"]>>(
  argv: readonly string[],
  options: O,
  help: string,
  io: CliIO,
  allowPositionals: boolean,
) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals });
  } catch (e: unknown) {
    io.err(`${e instanceof Error ? e.message : String(e)}\n${help}`);
    return EXIT_USAGE;
  }
  if ((parsed.values as Record<string, unknown>)["help"] === true) {
    io.out(help);
    return EXIT_OK;
  }
  return parsed;
}
