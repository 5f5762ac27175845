// A tiny OTLP/HTTP JSON receiver for tests: records every export request it gets.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One received export. */
export interface OtlpRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: OtlpMetricsBody;
}

/** The parts of an OTLP metrics JSON body the tests look at. */
export interface OtlpMetricsBody {
  resourceMetrics?: {
    resource?: { attributes?: { key: string; value: Record<string, unknown> }[] };
    scopeMetrics?: { metrics?: { name: string }[] }[];
  }[];
}

/**
 * Listens on 127.0.0.1 on a free port; `url` is the endpoint to configure.
 * @example await using otlp = await startOtlpReceiver(); ...; expect(otlp.requests).toHaveLength(0);
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const receiver = new OtlpReceiver();
  await receiver.listen();
  return receiver;
}

export class OtlpReceiver implements AsyncDisposable {
  readonly requests: OtlpRequest[] = [];
  readonly #server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body: OtlpMetricsBody = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpMetricsBody;
      } catch {
        // A body that is not JSON is recorded empty; the test sees the request and can fail on its content.
      }
      this.requests.push({ path: req.url ?? "", headers: req.headers, body });
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1/metrics`;
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
  }

  /** The resource attributes of a request, flattened to plain values. */
  static resource(req: OtlpRequest): Record<string, unknown> {
    const attrs = req.body.resourceMetrics?.[0]?.resource?.attributes ?? [];
    return Object.fromEntries(attrs.map((a) => [a.key, Object.values(a.value)[0]]));
  }

  /** The metric names of a request. */
  static metricNames(req: OtlpRequest): string[] {
    return (req.body.resourceMetrics ?? []).flatMap((rm) =>
      (rm.scopeMetrics ?? []).flatMap((sm) => (sm.metrics ?? []).map((m) => m.name)),
    );
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
