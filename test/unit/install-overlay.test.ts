// examples/install/ is the one place a user sets plan-runner's image: its `images:` entry must
// reach the Deployment and every Plan that runs the image. Two checks: the files themselves (each
// reference to the image sits where the overlay's field specs point, in a resource the overlay
// includes), and, when the test control plane's kubectl is cached, the real `kubectl kustomize`.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";

const repo = resolve(import.meta.dirname, "..", "..");
const overlayDir = join(repo, "examples", "install");
const IMAGE = "plan-runner/upgrade";

interface Kustomization {
  resources?: string[];
  configurations?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}
interface FieldSpec {
  group?: string;
  kind: string;
  path: string;
}
interface Found {
  file: string;
  kind: string;
  path: string;
  value: string;
}

const readYaml = (file: string): unknown[] => parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS() as unknown);
/** The names kustomize reads, in its order; plans/ uses the extensionless one so `kubectl apply -f plans/` skips it. */
const KUSTOMIZATION_NAMES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const kustomizationFile = (dir: string): string | undefined => KUSTOMIZATION_NAMES.map((n) => join(dir, n)).find((f) => existsSync(f));
const kustomization = (dir: string): Kustomization => readYaml(kustomizationFile(dir) ?? join(dir, "kustomization.yaml"))[0] as Kustomization;

/** The resource files an overlay pulls in, following directories that are kustomizations. */
function resourceFiles(dir: string): string[] {
  return (kustomization(dir).resources ?? []).flatMap((r) => {
    const p = resolve(dir, r);
    return kustomizationFile(p) !== undefined ? resourceFiles(p) : [p];
  });
}

/** Every string that names the image, with its kind and slash-separated path (list indexes as *). */
function imageReferences(file: string): Found[] {
  const found: Found[] = [];
  const walk = (node: unknown, path: string[], kind: string): void => {
    if (typeof node === "string") {
      if (node.includes(IMAGE)) found.push({ file, kind, path: path.join("/"), value: node });
    } else if (Array.isArray(node)) {
      for (const item of node) walk(item, [...path, "*"], kind);
    } else if (typeof node === "object" && node !== null) {
      for (const [k, v] of Object.entries(node)) walk(v, [...path, k], kind);
    }
  };
  for (const doc of readYaml(file)) {
    if (typeof doc === "object" && doc !== null && "kind" in doc && typeof doc.kind === "string") walk(doc, [], doc.kind);
  }
  return found;
}

/** Where kustomize's images transformer looks without being told (the kinds deploy/ uses). */
const builtIn: FieldSpec[] = [
  { kind: "Deployment", path: "spec/template/spec/containers/*/image" },
  { kind: "Deployment", path: "spec/template/spec/initContainers/*/image" },
];

describe("examples/install rewrites every plan-runner image", () => {
  const overlay = kustomization(overlayDir);
  const entry = overlay.images?.find((i) => i.name === IMAGE);
  const specs = [...builtIn, ...(overlay.configurations ?? []).flatMap((c) => (readYaml(join(overlayDir, c))[0] as { images?: FieldSpec[] }).images ?? [])];
  const files = resourceFiles(overlayDir);
  const refs = files.flatMap(imageReferences);
  const wanted = `${entry?.newName ?? IMAGE}:${entry?.newTag ?? ""}`;

  it("has one images: entry for the image, with a new name and tag", () => {
    assert.ok(entry, `examples/install/kustomization.yaml has no images: entry named ${IMAGE}`);
    assert.ok(entry.newName !== undefined && entry.newTag !== undefined, "the entry sets newName and newTag");
  });

  it("covers every reference in the resources it includes", () => {
    assert.ok(refs.length >= 5, `expected the Deployment's and the Plans' images, found ${refs.length}`);
    for (const r of refs) {
      const spec = specs.find((s) => s.kind === r.kind && s.path.replaceAll(/\/\*/g, "") === r.path.replaceAll(/\/\*/g, ""));
      assert.ok(spec, `${r.file}: ${r.kind} ${r.path} = ${r.value} is at no path the images transformer rewrites`);
    }
  });

  it("includes every file of plans/ and deploy/ that names the image", () => {
    const included = new Set(files);
    for (const dir of ["plans", "deploy"]) {
      for (const name of readdirSync(join(repo, dir)).filter((n) => n.endsWith(".yaml") && n !== "kustomization.yaml")) {
        const file = join(repo, dir, name);
        if (imageReferences(file).length > 0) assert.ok(included.has(file), `${dir}/${name} names ${IMAGE} but examples/install does not include it`);
      }
    }
  });

  const kubectl = findKubectl();
  it(
    "kubectl kustomize leaves no image unrewritten",
    { skip: kubectl === undefined ? "no cached kubectl (bash test/env/build-control-plane.sh builds it)" : false },
    () => {
      const out = execFileSync(kubectl ?? "kubectl", ["kustomize", overlayDir], { encoding: "utf8" });
      const docs = parseAllDocuments(out).map((d) => d.toJS() as Record<string, unknown>);
      const images: string[] = [];
      for (const d of docs) {
        const spec = d["spec"] as Record<string, unknown> | undefined;
        if (d["kind"] === "Deployment") {
          const containers = (spec?.["template"] as { spec?: { containers?: { image: string }[] } } | undefined)?.spec?.containers ?? [];
          images.push(...containers.map((c) => c.image));
        }
        if (d["kind"] === "Plan") {
          for (const k of ["upgrade", "prepare"]) {
            const c = spec?.[k] as { image?: string } | undefined;
            if (c?.image !== undefined) images.push(c.image);
          }
        }
      }
      assert.equal(images.length, refs.length, "every reference in the files comes out of kustomize");
      for (const image of images) assert.equal(image, wanted);
      assert.doesNotMatch(out, new RegExp(`(^|[\\s"'])${IMAGE}:`), "an unqualified image is left in the output");
    },
  );
});

/** The harness's kubectl when it is already built; never starts a build from a unit test. */
function findKubectl(): string | undefined {
  const preset = process.env["PLAN_RUNNER_BIN_DIR"];
  if (preset !== undefined && preset !== "" && existsSync(join(preset, "kubectl"))) return join(preset, "kubectl");
  const cache = process.env["PLAN_RUNNER_CACHE"] ?? join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "plan-runner");
  const bin = join(cache, "bin");
  if (!existsSync(bin)) return undefined;
  return readdirSync(bin)
    .map((d) => join(bin, d, "kubectl"))
    .find((p) => existsSync(p));
}
