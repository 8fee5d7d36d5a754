// Where the agent's metrics go (agent config `metrics`, docs/metrics.md):
// node_exporter's textfile collector directory (gitfleet.prom, replaced
// atomically after every reconcile so the collector never reads half a file)
// and/or a small /metrics HTTP endpoint, on loopback unless allowed otherwise.
import { splitHostPort } from '../config/host-address.ts';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { GitfleetError, messageOf } from '../../shared/errors.ts';
import { writeFileAtomic } from '../state/atomic-file.ts';
import type { AgentMetrics } from './agent-metrics.ts';

export const TEXTFILE_NAME = 'gitfleet.prom';
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsOutputConfig {
  textfileDir?: string | undefined;
  listen?: string | undefined;
}

export class MetricsExporter {
  #server: Server | null = null;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly metrics: AgentMetrics,
    private readonly config: MetricsOutputConfig,
    private readonly logger: Logger,
  ) {}

  /** Writes the textfile (queued: two reconciles never race on the temp file). */
  publish(): Promise<void> {
    const dir = this.config.textfileDir;
    if (dir === undefined) return Promise.resolve();
    this.#writing = this.#writing.then(async () => {
      try {
        // 0644: node_exporter usually runs as its own user.
        await writeFileAtomic(join(dir, TEXTFILE_NAME), this.metrics.render(), 0o644);
      } catch (error) {
        this.logger.warn({ err: messageOf(error), dir }, 'cannot write the metrics textfile');
      }
    });
    return this.#writing;
  }

  /** Starts the /metrics endpoint when `listen` is set; returns its address. */
  async listen(): Promise<AddressInfo | null> {
    const listen = this.config.listen;
    if (listen === undefined) return null;
    const { host, port } = splitHostPort(listen);
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if ((req.method !== 'GET' && req.method !== 'HEAD') || path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the agent serves only GET /metrics\n');
        return;
      }
      const body = this.metrics.render();
      res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (cause) => reject(new GitfleetError('CONFIG_INVALID', `config key "metrics.listen": cannot listen on ${listen}: ${messageOf(cause)}`, { cause })));
      server.listen(port, host, () => resolve());
    });
    // Keeps no agent alive on its own: the daemon's timers do.
    server.unref();
    this.#server = server;
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    await this.#writing;
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
