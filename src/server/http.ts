// The metrics port: /metrics (Prometheus), /health (a linearizable read
// succeeds, as etcd's /health), /readyz (member started and knows a leader),
// and, only under --unsafe-test-mode, /test/faults to cut or slow peer links
// for multi-process fault tests, plus the other /test/* hooks in testHooks.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "./logger.js";
import type { NodeMetrics } from "./metrics.js";

export interface HttpEndpoints {
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  readonly health: () => Promise<void>;
  readonly ready: () => string | null;
  /** Present only in unsafe test mode: applies a JSON fault description. */
  readonly applyFaults: ((rules: unknown) => unknown) | null;
  /** Present only in unsafe test mode: POST /test/<name> with a JSON body. */
  readonly testHooks: Readonly<Record<string, (body: unknown) => unknown>> | null;
}

const FAULT_BODY_BYTES_MAX = 64 * 1024;
const HEALTH_TIMEOUT_MS = 2000;

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(`${JSON.stringify(body)}\n`);
}

async function readBody(request: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > FAULT_BODY_BYTES_MAX) throw new Error(`body over ${FAULT_BODY_BYTES_MAX} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function route(
  endpoints: HttpEndpoints,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = (request.url ?? "/").split("?")[0];
  if (path === "/metrics") {
    response.writeHead(200, { "content-type": endpoints.metrics.registry.contentType });
    response.end(await endpoints.metrics.registry.metrics());
    return;
  }
  if (path === "/health") {
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error("linearizable read timed out")), HEALTH_TIMEOUT_MS).unref(),
    );
    try {
      await Promise.race([endpoints.health(), timeout]);
      reply(response, 200, { health: "true" });
    } catch (error) {
      reply(response, 503, { health: "false", reason: (error as Error).message });
    }
    return;
  }
  if (path === "/readyz") {
    const problem = endpoints.ready();
    reply(
      response,
      problem === null ? 200 : 503,
      problem === null ? { ready: true } : { ready: false, reason: problem },
    );
    return;
  }
  if (path === "/test/faults" && endpoints.applyFaults !== null && request.method === "POST") {
    try {
      reply(response, 200, endpoints.applyFaults(JSON.parse(await readBody(request))));
    } catch (error) {
      reply(response, 400, { error: (error as Error).message });
    }
    return;
  }
  const hooks = endpoints.testHooks;
  const name = path?.startsWith("/test/") ? path.slice("/test/".length) : "";
  const hook = hooks !== null && Object.hasOwn(hooks, name) ? hooks[name] : undefined;
  if (hook !== undefined && request.method === "POST") {
    try {
      reply(response, 200, hook(JSON.parse(await readBody(request))));
    } catch (error) {
      reply(response, 400, { error: (error as Error).message });
    }
    return;
  }
  reply(response, 404, { error: `no such endpoint ${path}; try /metrics, /health or /readyz` });
}

export function startHttp(endpoints: HttpEndpoints, host: string, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    route(endpoints, request, response).catch((error: unknown) => {
      endpoints.logger.warn({ err: error }, "http handler failed");
      if (!response.headersSent) reply(response, 500, { error: (error as Error).message });
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
