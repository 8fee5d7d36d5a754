// The baseline for bench/hub-load.ts: the least a hub could do over the same
// sockets — parse each frame as JSON, answer hello with welcome and status
// with ack, serve a constant summary, broadcast reconcile-now — without
// validation, auth, storage or indexing. Run side by side with the real hub.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';

const port = Number(process.argv[2] ?? 0);
const clients = new Set<WebSocket>();
const summary = JSON.stringify({ total: 0, sync: {}, connectivity: {}, tags: [] });
const server = createServer((req, res) => {
  if (req.method === 'POST') {
    for (const ws of clients) ws.send('{"type":"reconcile-now","reason":"push"}');
    req.resume();
    res.end('{}');
    return;
  }
  res.setHeader('content-type', 'application/json');
  res.end(summary);
});
const wss = new WebSocketServer({ server, path: '/agent', perMessageDeflate: false, maxPayload: 1024 * 1024 });
wss.on('connection', (ws) => {
  clients.add(ws);
  ws.on('close', () => clients.delete(ws));
  ws.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString()) as { type: string; seq?: number };
    if (m.type === 'hello') ws.send(JSON.stringify({ type: 'welcome', protocol: 1, serverTime: new Date().toISOString(), heartbeatMs: 30000, lastSeq: 0 }));
    else if (m.type === 'status') ws.send(JSON.stringify({ type: 'ack', seq: m.seq }));
  });
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`));
