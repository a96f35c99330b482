import { parseArgs } from "node:util";
import { MatrixError, loadMatrix } from "../../executors/compat-matrix.ts";
import { type Command, EXIT_INVALID, EXIT_USAGE } from "../io.ts";

const HELP = `usage: plan-runner matrix convert FILE

Prints the compat matrix FILE in plan-runner's format (schemas/compat-matrix.schema.json), as
JSON. FILE may be the seed pipeline's addon-compat.json (namespace/kind/resource/image_re/
max_k8s/pinned/pin_reason, containerd_min): compat-gate reads that form too, so converting is a
choice, not a step. exit 0 converted · 1 the file is unreadable or invalid · 2 usage`;

export const run: Command = async (argv, io) => {
  let positionals: string[];
  let help: boolean | undefined;
  try {
    ({
      positionals,
      values: { help },
    } = parseArgs({ args: [...argv], options: { help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true }));
  } catch (e: unknown) {
    io.err(`plan-runner matrix: ${e instanceof Error ? e.message : String(e)}\n${HELP}`);
    return EXIT_USAGE;
  }
  if (help === true) {
    io.out(HELP);
    return 0;
  }
  const [verb, file, ...extra] = positionals;
  if (verb !== "convert" || file === undefined || extra.length > 0) {
    io.err(HELP);
    return EXIT_USAGE;
  }
  try {
    const { seedFormat, ...matrix } = await loadMatrix(file);
    if (seedFormat !== true) io.err(`plan-runner matrix: ${file} is already in plan-runner's format`);
    io.out(JSON.stringify({ $schema: "https://plan-runner.dev/schemas/compat-matrix.schema.json", ...matrix }, null, 2));
    return 0;
  } catch (e: unknown) {
    io.err(`plan-runner matrix: ${e instanceof MatrixError || e instanceof Error ? e.message : String(e)}`);
    return EXIT_INVALID;
  }
};
