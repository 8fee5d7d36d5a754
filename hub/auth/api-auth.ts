// API access: an admin token (everything) and an optional read-only viewer
// token, both sent as `Authorization: Bearer <token>` and held only as hashes.
import { hashSecret, secretMatches } from './secrets.ts';

export type ApiRole = 'admin' | 'viewer';

export class ApiAuth {
  readonly #adminHash: string;
  readonly #viewerHash: string | null;

  constructor(tokens: { adminToken: string; viewerToken?: string | undefined }) {
    this.#adminHash = hashSecret(tokens.adminToken);
    this.#viewerHash = tokens.viewerToken ? hashSecret(tokens.viewerToken) : null;
  }

  /** The role an Authorization header grants, or null when it grants none. */
  roleOf(authorization: string | undefined): ApiRole | null {
    if (!authorization) return null;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return null;
    const token = match[1]!;
    if (secretMatches(token, this.#adminHash)) return 'admin';
    if (this.#viewerHash !== null && secretMatches(token, this.#viewerHash)) return 'viewer';
    return null;
  }
}
