import { spawn } from "node:child_process";
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { waitFor } from "./wait.ts";

export interface ComponentSpec {
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr both go here, so a failed start-up can show what the component said. */
  logPath: string;
  env?: NodeJS.ProcessEnv;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Component {
  readonly name: string;
  /** Also the process group id: each component leads its own group, so a kill reaches its children. */
  readonly pid: number;
  readonly logPath: string;
  /** Settles when the process exits; only for processes started by this Node process. */
  readonly exited: Promise<ExitStatus>;
  running(): boolean;
}

/**
 * Starts a component in a new process group with its output in a log file. The child is unref'd:
 * it never keeps this process alive, so cleanup is the caller's job (see onExitCleanup).
 */
export function startComponent(spec: ComponentSpec): Component {
  const fd = openSync(spec.logPath, "a");
  let child;
  try {
    child = spawn(spec.command, spec.args, {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: spec.env ?? process.env,
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command}): not executable or missing`);
  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once("exit", (code, signal) => {
      status = { code, signal };
      resolve(status);
    });
  });
  child.on("error", () => undefined);
  child.unref();
  return { name: spec.name, pid, logPath: spec.logPath, exited, running: () => status === undefined };
}

/**
 * Live (non-zombie) processes in a process group. Read from /proc because a detached cluster's
 * processes are re-parented to init, and a zombie that init has not reaped yet still answers kill(0).
 */
export function groupMembers(pgid: number): number[] {
  if (!existsSync("/proc/self/stat")) {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const members: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] !== "Z" && Number(fields[2]) === pgid) members.push(Number(entry));
  }
  return members;
}

export function groupAlive(pgid: number): boolean {
  return groupMembers(pgid).length > 0;
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/**
 * Kills process groups and waits until no live member is left. Default is SIGKILL at once: the
 * state lives in /dev/shm and is thrown away, and on SIGTERM kube-apiserver drains for over 20s
 * and etcd waits for its clients (measured). A graceMs > 0 sends SIGTERM first.
 */
export async function stopGroups(pgids: readonly number[], graceMs = 0): Promise<void> {
  if (graceMs > 0) {
    for (const g of pgids) signalGroup(g, "SIGTERM");
    try {
      await waitFor(() => pgids.every((g) => !groupAlive(g)), { timeoutMs: graceMs, what: "components to exit" });
      return;
    } catch {
      // still running after the grace period: killed below
    }
  }
  for (const g of pgids) signalGroup(g, "SIGKILL");
  await waitFor(() => pgids.every((g) => !groupAlive(g)), {
    timeoutMs: 10_000,
    what: `process groups ${pgids.join(",")} to die after SIGKILL`,
  });
}

/** The last lines of a log file, reading at most the final 64 KiB. */
export function logTail(path: string, lines = 40): string {
  if (!existsSync(path)) return "(no log)";
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    return buf
      .toString("utf8")
      .split("\n")
      .slice(-lines - 1)
      .join("\n");
  } finally {
    closeSync(fd);
  }
}

const cleanups = new Set<() => void>();
let hooked = false;

function runCleanups(): void {
  for (const c of [...cleanups]) {
    cleanups.delete(c);
    try {
      c();
    } catch {
      // best effort while exiting: the reaper catches what this misses
    }
  }
}

/**
 * Registers a synchronous cleanup for every way this process ends short of SIGKILL: normal exit,
 * an uncaught error, Ctrl-C, SIGTERM from a test runner. Returns the function that unregisters it.
 */
export function onExitCleanup(cleanup: () => void): () => void {
  if (!hooked) {
    hooked = true;
    process.on("exit", runCleanups);
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      const handler = (): void => {
        runCleanups();
        process.removeListener(sig, handler);
        // With our handler gone and none other, re-raising ends the process the default way.
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      };
      process.on(sig, handler);
    }
  }
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}
