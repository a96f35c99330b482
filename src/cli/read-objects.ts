// Kubernetes objects from files as `kubectl get -o yaml` prints them (objects and Lists), for
// the offline dry run.
import { readFile } from "node:fs/promises";
import { parseAllDocuments } from "yaml";
import type { SecretView } from "../controller/rollout/model.ts";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Objects of `kind` from a YAML stream of objects and Lists (what `kubectl get -o yaml` prints). */
export async function readObjects(path: string, kind: string): Promise<{ objects: Record<string, unknown>[] } | { error: string }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e: unknown) {
    return { error: `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}` };
  }
  const objects: Record<string, unknown>[] = [];
  const docs = parseAllDocuments(text);
  for (const doc of Array.isArray(docs) ? docs : []) {
    const first = doc.errors[0];
    if (first !== undefined) return { error: `${path}: YAML: ${first.message}` };
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const items = isRecord(value) && Array.isArray(value["items"]) ? (value["items"] as unknown[]) : [value];
    for (const item of items) {
      if (!isRecord(item) || (item["kind"] !== undefined && item["kind"] !== kind)) {
        return { error: `${path}: expected ${kind} objects (or a List of them), found ${isRecord(item) ? String(item["kind"]) : typeof item}` };
      }
      const meta = item["metadata"];
      if (!isRecord(meta) || typeof meta["name"] !== "string") return { error: `${path}: a ${kind} without metadata.name` };
      objects.push(item);
    }
  }
  return { objects };
}

export function toSecretView(o: Record<string, unknown>): SecretView {
  const meta = o["metadata"] as Record<string, unknown>;
  const data = o["data"];
  const immutable = o["immutable"];
  return {
    name: String(meta["name"]),
    type: typeof o["type"] === "string" ? o["type"] : "",
    data: isRecord(data) && Object.keys(data).length > 0 ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, String(v)])) : undefined,
    ...(typeof immutable === "boolean" ? { immutable } : {}),
  };
}
