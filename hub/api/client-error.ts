// Requests Node's HTTP parser refuses before any route runs (bytes not allowed
// in a request line, headers over the size limit, a request that never
// finished) get the API's one error shape too, instead of Fastify's own
// `{"error":"Bad Request","message":"Client Error"}` — a client parses one shape.
import type { Socket } from 'node:net';

export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, text, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'the request did not arrive in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'the request headers are over the size limit']
        : [400, 'Bad Request', 'a malformed HTTP request (characters not allowed in the request line or headers, or a broken framing)'];
  const body = JSON.stringify({ error: { code: 'INVALID_VALUE', message } });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${text}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
