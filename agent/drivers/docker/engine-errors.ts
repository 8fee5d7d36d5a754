// Every error out of dockerode/docker-modem passes through here, so nothing
// above the driver sees one: a socket that is missing or refuses becomes
// DOCKER_UNAVAILABLE, the engine's own refusals keep its message.
import { GitfleetError, isGitfleetError } from '../../../shared/errors.ts';

/** What docker-modem puts on its errors (HTTP status + parsed body, or a socket errno). */
interface ModemError {
  message?: string;
  statusCode?: number;
  json?: unknown;
  code?: string;
}

const unreachableCodes = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTSOCK', 'EHOSTUNREACH', 'ECONNABORTED']);

/** The engine's own message, without docker-modem's "(HTTP code 404) … - " prefix. */
export function engineMessage(error: unknown): string {
  const e = (error ?? {}) as ModemError;
  const json = e.json as { message?: unknown } | string | Buffer | null | undefined;
  if (json && typeof json === 'object' && !Buffer.isBuffer(json) && typeof json.message === 'string') return json.message.trim();
  if (typeof json === 'string' && json.trim() !== '') return json.trim();
  const message = typeof e.message === 'string' ? e.message : String(error);
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

export function isSocketFailure(error: unknown): boolean {
  const e = (error ?? {}) as ModemError;
  if (e.statusCode !== undefined) return false;
  if (e.code !== undefined && unreachableCodes.has(e.code)) return true;
  return /socket hang up|ECONNREFUSED|ENOENT|connect E/.test(String(e.message ?? ''));
}

export function statusOf(error: unknown): number | undefined {
  return ((error ?? {}) as ModemError).statusCode;
}

/**
 * Translates a dockerode error raised while doing `what` (e.g. `start container web`).
 * `socketPath` names the socket in DOCKER_UNAVAILABLE messages.
 */
export function translateEngineError(error: unknown, what: string, socketPath: string): GitfleetError {
  if (isGitfleetError(error)) return error;
  if (isSocketFailure(error)) {
    const code = ((error ?? {}) as ModemError).code;
    const hint = code === 'ENOENT' ? ' (no socket there: is dockerd running?)'
      : code === 'ECONNREFUSED' ? ' (the socket refuses connections: dockerd is not listening)'
      : code === 'EACCES' ? ' (permission denied on the socket)' : '';
    return new GitfleetError('DOCKER_UNAVAILABLE', `cannot ${what}: the Docker daemon at ${socketPath} is not reachable${hint}: ${engineMessage(error)}`, { cause: error });
  }
  const status = statusOf(error);
  const message = engineMessage(error);
  if (status === 404 && /no such image|manifest unknown|not found: manifest|repository does not exist|pull access denied/i.test(message)) {
    return new GitfleetError('IMAGE_NOT_FOUND', `cannot ${what}: ${message}`, { cause: error });
  }
  // Podman answers a taken name with 500 (Docker: 409), the message says the same.
  if ((status === 409 || status === 500) && /is already in use/i.test(message)) {
    return new GitfleetError('NAME_CONFLICT', `cannot ${what}: ${message}`, { cause: error });
  }
  return new GitfleetError('DOCKER_FAILED', `cannot ${what}: ${message}`, { cause: error });
}
