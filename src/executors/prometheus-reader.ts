import type { DeprecatedApi, DeprecatedApiReader } from "./compat-gate.ts";

const METRIC = "apiserver_requested_deprecated_apis";

interface VectorAnswer {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: { metric?: Record<string, string>; value?: [number, string] }[] };
}

/**
 * Asks Prometheus which deprecated APIs the API servers have been asked for. Any failure
 * (unreachable, HTTP error, an answer that is not a vector) throws: the gate then blocks.
 */
export function prometheusDeprecatedApis(baseUrl: string, timeoutMs = 20_000): DeprecatedApiReader {
  return {
    async deprecatedApisInUse(): Promise<DeprecatedApi[]> {
      const url = new URL("api/v1/query", baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
      url.searchParams.set("query", METRIC);
      let res: Response;
      try {
        res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } });
      } catch (e: unknown) {
        const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : "";
        throw new Error(`${url.origin}: ${e instanceof Error ? e.message : String(e)}${cause}`);
      }
      const text = await res.text();
      let body: VectorAnswer;
      try {
        body = JSON.parse(text) as VectorAnswer;
      } catch {
        throw new Error(`${url.origin} answered HTTP ${res.status} with something that is not JSON`);
      }
      if (!res.ok || body.status !== "success") throw new Error(`${url.origin} answered HTTP ${res.status}: ${body.error ?? body.status ?? "no status"}`);
      if (body.data?.resultType !== "vector" || !Array.isArray(body.data.result)) throw new Error(`${url.origin} did not answer with an instant vector`);
      // The gauge is 1 for an API that was requested; a 0 (never set by today's API servers) is not a use.
      return body.data.result
        .filter((s) => s.value?.[1] !== "0")
        .map(({ metric = {} }) => ({
          group: metric["group"] ?? "",
          version: metric["version"] ?? "",
          resource: metric["resource"] ?? "",
          removedRelease: metric["removed_release"] ?? "",
        }));
    },
  };
}
