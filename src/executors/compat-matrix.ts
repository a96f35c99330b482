import { readFile } from "node:fs/promises";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { parse } from "yaml";
import { fromSeedMatrix, isSeedMatrix } from "./seed-matrix.ts";

export type WorkloadKind = "Deployment" | "DaemonSet" | "StatefulSet";

export interface WorkloadRef {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
}

/** One addon of schemas/compat-matrix.schema.json. */
export interface AddonSpec {
  readonly name: string;
  readonly workload: WorkloadRef;
  readonly imagePattern: string;
  /** addon version floor -> highest Kubernetes minor supported. */
  readonly maxKubernetes: Readonly<Record<string, string>>;
  readonly pinned?: boolean;
  readonly pinReason?: string;
}

export interface CompatMatrix {
  /** Set when the file was in the seed pipeline's addon-compat.json format (converted on reading). */
  readonly seedFormat?: true;
  readonly addons: readonly AddonSpec[];
  /** target minor -> lowest containerd version. */
  readonly containerdMin?: Readonly<Record<string, string>>;
}

/** The matrix is missing, unparseable or does not follow its schema: the gate's own error. */
export class MatrixError extends Error {
  override readonly name = "MatrixError";
}

const schemaUrl = new URL("../../schemas/compat-matrix.schema.json", import.meta.url);
let validator: ValidateFunction | undefined;

async function validatorFor(): Promise<ValidateFunction> {
  if (validator === undefined) {
    const schema = JSON.parse(await readFile(schemaUrl, "utf8")) as object;
    validator = new Ajv({ allErrors: true, strict: true }).compile(schema);
  }
  return validator;
}

function describe(e: ErrorObject): string {
  const at = e.instancePath === "" ? "the matrix" : e.instancePath;
  const p = e.params as Record<string, unknown>;
  if (e.keyword === "additionalProperties") return `${at}: unknown field "${String(p["additionalProperty"])}"`;
  if (e.keyword === "enum") return `${at} must be one of ${(p["allowedValues"] as unknown[]).map(String).join(", ")}`;
  if (e.keyword === "propertyNames") return `${at}: key "${String(p["propertyName"])}" is not a version`;
  return `${at} ${e.message ?? "is invalid"}`;
}

/** Parses and validates a matrix (JSON or YAML); `source` names it in errors. */
export async function parseMatrix(text: string, source: string): Promise<CompatMatrix> {
  let data: unknown;
  try {
    data = parse(text);
  } catch (e: unknown) {
    throw new MatrixError(`matrix ${source} is not valid JSON or YAML: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
  const seed = isSeedMatrix(data);
  if (seed) {
    const converted = fromSeedMatrix(data as Record<string, unknown>);
    if (converted.problems.length > 0) throw new MatrixError(`matrix ${source} (the seed's addon-compat.json format):\n  ${converted.problems.join("\n  ")}`);
    data = converted.matrix;
  }
  const validate = await validatorFor();
  if (!validate(data)) {
    // propertyNames reports the key and then a generic line for the same spot; the first is enough.
    const errors = (validate.errors ?? []).filter((e) => !(e.keyword === "pattern" && e.propertyName !== undefined));
    const form = seed ? " once read from the seed's addon-compat.json format" : "";
    throw new MatrixError(`matrix ${source} does not follow schemas/compat-matrix.schema.json${form}:\n  ${errors.map(describe).join("\n  ")}`);
  }
  const matrix: CompatMatrix = seed ? { ...(data as CompatMatrix), seedFormat: true } : (data as CompatMatrix);
  matrix.addons.forEach((a, i) => {
    let groups: number;
    try {
      groups = (new RegExp(`${a.imagePattern}|`).exec("")?.length ?? 1) - 1;
    } catch (e: unknown) {
      throw new MatrixError(
        `matrix ${source}: /addons/${i}/imagePattern of ${a.name} is not a valid regular expression: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (groups < 1) throw new MatrixError(`matrix ${source}: /addons/${i}/imagePattern of ${a.name} has no capture group for the version`);
  });
  return matrix;
}

export async function loadMatrix(path: string): Promise<CompatMatrix> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e: unknown) {
    const code = e instanceof Error && "code" in e ? String(e.code) : "";
    throw new MatrixError(code === "ENOENT" ? `matrix ${path} does not exist` : `cannot read matrix ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseMatrix(text, path);
}
