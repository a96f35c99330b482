import type { Command } from "../io.ts";
import { HOST_OPTIONS, HOST_OPTIONS_HELP, hostRunnerFrom, parseOptions, runNodeCommand, seconds, sleep } from "../../executors/command-support.ts";
import { REBOOT_REQUIRED, osUpgrade } from "../../executors/os-upgrade.ts";

const HELP = `usage: plan-runner os-upgrade [--reboot-if-required] [options]

Upgrades this node's OS packages (apt-get update, then upgrade with new packages) leaving held
packages alone, and checks that no held package moved. With --reboot-if-required, reboots the
node when ${REBOOT_REQUIRED} exists; the pod ends with the reboot and the retry finds nothing
left to do.

exit 0 done · 1 a step failed (named) · 3 bad input

options:
  --reboot-if-required   reboot when a package asked for it
  --reboot-wait SECS     how long the node may take to go down after systemctl reboot (default 600)
${HOST_OPTIONS_HELP}`;

const OPTIONS = {
  ...HOST_OPTIONS,
  "reboot-if-required": { type: "boolean" },
  "reboot-wait": { type: "string" },
} as const;

export const run: Command = (argv, io) =>
  runNodeCommand("os-upgrade", io, async () => {
    const { values } = parseOptions(argv, OPTIONS);
    if (values.help === true) {
      io.out(HELP);
      return 0;
    }
    const rebootWaitMs = seconds("reboot-wait", values["reboot-wait"], 600);
    const runner = hostRunnerFrom(values, io.env, io.out);
    await osUpgrade({ runner, log: io.out, sleep, now: Date.now }, { rebootIfRequired: values["reboot-if-required"] === true, rebootWaitMs });
    io.out("os-upgrade: done");
    return 0;
  });
