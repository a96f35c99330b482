/** Structured JSON logs, one object per line, so log pipelines need no parser of their own. Secret values never reach here: callers log names only. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function jsonLogger(write: (line: string) => void = (l) => process.stderr.write(`${l}\n`), base: Record<string, unknown> = {}): Logger {
  const emit = (level: string, msg: string, fields?: Record<string, unknown>): void =>
    write(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...base, ...fields }));
  return {
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
