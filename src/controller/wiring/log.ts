/**
 * Logs with levels, in one of two formats: JSON (one object per line, so a cluster's log pipeline
 * needs no parser of its own) or text (for a person at a terminal). Secret values never reach
 * here: callers log names only.
 */
export interface Logger {
  /** Per-node chatter (each drain pass): off unless --log-level debug. */
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ["json", "text"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly format?: LogFormat;
  readonly write?: (line: string) => void;
  /** Fields on every line (the controller's name). */
  readonly base?: Record<string, unknown>;
  readonly now?: () => Date;
}

/** A value as text shows it: bare when it has no space, quote or '=', else JSON-quoted. */
function textValue(v: unknown): string {
  if (typeof v === "string") return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

export function logger(opts: LoggerOptions = {}): Logger {
  const min = LOG_LEVELS.indexOf(opts.level ?? "info");
  const write = opts.write ?? ((l: string) => void process.stderr.write(`${l}\n`));
  const now = opts.now ?? (() => new Date());
  const base = opts.base ?? {};
  const line =
    opts.format === "text"
      ? (level: LogLevel, msg: string, fields: Record<string, unknown>): string =>
          [now().toISOString(), level.toUpperCase().padEnd(5), msg, ...Object.entries(fields).map(([k, v]) => `${k}=${textValue(v)}`)].join(" ")
      : (level: LogLevel, msg: string, fields: Record<string, unknown>): string => JSON.stringify({ ts: now().toISOString(), level, msg, ...fields });
  const at =
    (level: LogLevel) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (LOG_LEVELS.indexOf(level) >= min) write(line(level, msg, { ...base, ...fields }));
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** JSON at info and above: what the commands that take no log flags write. */
export function jsonLogger(write: (line: string) => void = (l) => process.stderr.write(`${l}\n`), base: Record<string, unknown> = {}): Logger {
  return logger({ format: "json", level: "info", write, base });
}

export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
