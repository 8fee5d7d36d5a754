// What every page gets from the shell: the API client, the role, the live
// fleet summary and a counter that moves on every live change.
import type { Api } from '../api.ts';
import type { FleetSummary, Role } from '../types.ts';

export interface PageProps {
  api: Api;
  role: Role;
  summary: FleetSummary | null;
  /** Increments on every live `change` event. */
  tick: number;
  /** Host ids in the latest live change. */
  changed: ReadonlySet<string>;
}
