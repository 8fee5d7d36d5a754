// The commit-status request of each forge, as its API documents it:
//   GitHub  POST /repos/{owner}/{repo}/statuses/{sha}   Authorization: Bearer TOKEN
//           {state: pending|success|failure|error, target_url, description, context} → 201
//   GitLab  POST /projects/:id/statuses/:sha            PRIVATE-TOKEN: TOKEN
//           {state: pending|running|success|failed|canceled, target_url, description, name} → 201
//   Gitea   POST /repos/{owner}/{repo}/statuses/{sha}   Authorization: token TOKEN
//           {state: pending|success|error|failure|warning, target_url, description, context} → 201
import type { Forge } from './forge-config.ts';

/** The state gitfleet means; each forge spells it its own way. */
export type FleetCommitState = 'pending' | 'success' | 'failure' | 'superseded';

export interface ForgeRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const spelled: Record<Forge, Record<FleetCommitState, string>> = {
  github: { pending: 'pending', success: 'success', failure: 'failure', superseded: 'error' },
  // GitLab refuses pending → pending ("Cannot transition status"); running may follow pending and is what "hosts are applying" means.
  gitlab: { pending: 'running', success: 'success', failure: 'failed', superseded: 'canceled' },
  gitea: { pending: 'pending', success: 'success', failure: 'failure', superseded: 'error' },
};

/** GitHub cuts descriptions at 140 characters; the others accept more, but one length for all keeps them alike. */
export const MAX_DESCRIPTION = 140;

export function forgeRequest(
  c: { forge: Forge; baseUrl: string; repository: string; token: string; context: string },
  sha: string,
  state: FleetCommitState,
  description: string,
  targetUrl: string,
): ForgeRequest {
  const desc = [...description].length > MAX_DESCRIPTION ? [...description].slice(0, MAX_DESCRIPTION - 1).join('') + '…' : description;
  const common = { state: spelled[c.forge][state], target_url: targetUrl, description: desc };
  switch (c.forge) {
    case 'github':
      return {
        url: `${c.baseUrl}/repos/${c.repository.split('/').map(encodeURIComponent).join('/')}/statuses/${sha}`,
        headers: { authorization: `Bearer ${c.token}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', 'content-type': 'application/json' },
        body: JSON.stringify({ ...common, context: c.context }),
      };
    case 'gitea':
      return {
        url: `${c.baseUrl}/repos/${c.repository.split('/').map(encodeURIComponent).join('/')}/statuses/${sha}`,
        headers: { authorization: `token ${c.token}`, accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify({ ...common, context: c.context }),
      };
    case 'gitlab':
      return {
        // A project path is one URL-encoded segment (group%2Fproject), as GitLab documents.
        url: `${c.baseUrl}/projects/${encodeURIComponent(c.repository)}/statuses/${sha}`,
        headers: { 'private-token': c.token, accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify({ ...common, name: c.context }),
      };
  }
}
