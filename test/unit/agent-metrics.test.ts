// The agent's metrics as numbers: counting, drift corrections counted once,
// when the enforced revision was applied, and the text format's escaping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentMetrics, appliedSince } from '../../agent/metrics/agent-metrics.ts';
import { escapeLabelValue, renderFamilies } from '../../agent/metrics/prom-text.ts';
import { loadAgentConfig } from '../../agent/config/agent-config.ts';
import type { Attempt, HostStatus } from '../../shared/status.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

function attempt(revision: string, result: Attempt['result'], startedAt: string, driftCorrected: string[] = [], trigger: Attempt['trigger'] = 'poll'): Attempt {
  return { trigger, revision, startedAt, durationMs: 10, result, intended: [], driftCorrected };
}

function status(attempts: Attempt[], lastAppliedRevision: string | null = A): HostStatus {
  return {
    host: 'h',
    place: '',
    tags: [],
    conditions: [],
    lastAppliedRevision,
    lastAttemptedRevision: lastAppliedRevision,
    resources: [
      { id: 'file:/a', sync: 'InSync', health: 'Healthy', diff: [] },
      { id: 'file:/b', sync: 'Drifted', health: 'Healthy', diff: [] },
    ],
    attempts,
    updatedAt: new Date().toISOString(),
  } as HostStatus;
}

test('appliedSince: the oldest success of the enforced revision since the host last ran another; failed heads do not end the run', () => {
  const s = status([
    attempt(B, 'Refused', '2026-01-01T00:03:00Z'),
    attempt(A, 'Succeeded', '2026-01-01T00:02:00Z'),
    attempt(A, 'Succeeded', '2026-01-01T00:01:00Z'),
    attempt(B, 'Succeeded', '2026-01-01T00:00:00Z'),
  ]);
  assert.equal(appliedSince(s), Date.parse('2026-01-01T00:01:00Z') / 1000);
  assert.equal(appliedSince(status([], null)), null);
});

test('drift corrections count once per attempt, rollbacks are not drift, resources are by sync state', () => {
  const m = new AgentMetrics('h');
  const first = [attempt(A, 'Succeeded', '2026-01-01T00:00:00Z', ['x', 'y'])];
  m.observe('poll', { result: 'Succeeded', converged: true, revision: A }, 1500, status(first));
  m.observe('drift-check', { result: 'NoChange', converged: true, revision: A }, 20, status(first));
  const second = [attempt(A, 'RolledBack', '2026-01-01T00:02:00Z', ['z'], 'rollback'), attempt(A, 'Succeeded', '2026-01-01T00:01:00Z', ['w']), ...first];
  m.observe('poll', { result: 'RolledBack', converged: false, revision: A }, 70_000, status(second));
  m.sourceError('GIT_FAILED');
  const text = m.render();
  assert.match(text, /^gitfleet_agent_drift_corrections_total\{host="h"\} 3$/m);
  assert.match(text, /^gitfleet_agent_reconciles_total\{host="h",result="NoChange"\} 1$/m);
  assert.match(text, /^gitfleet_agent_reconcile_duration_seconds_bucket\{host="h",le="2.5"\} 2$/m);
  assert.match(text, /^gitfleet_agent_reconcile_duration_seconds_bucket\{host="h",le="\+Inf"\} 3$/m);
  assert.match(text, /^gitfleet_agent_reconcile_duration_seconds_sum\{host="h"\} 71.52$/m);
  assert.match(text, /^gitfleet_agent_resources\{host="h",sync="Drifted"\} 1$/m);
  assert.match(text, /^gitfleet_agent_converged\{host="h"\} 0$/m);
  assert.match(text, /^gitfleet_agent_source_errors_total\{host="h",code="GIT_FAILED"\} 1$/m);
});

test('label values escape backslash, quote and newline', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(renderFamilies([{ name: 'x', help: 'h\nh', type: 'gauge', samples: [{ labels: { l: '"' }, value: Infinity }] }]), '# HELP x h\\nh\n# TYPE x gauge\nx{l="\\""} +Inf\n');
});

test('metrics.listen is loopback unless metrics.allowRemote says otherwise', () => {
  const base = { GITFLEET_REPO: '/tmp/none' };
  assert.equal(loadAgentConfig({ env: { ...base, GITFLEET_METRICS_LISTEN: '127.0.0.1:9464' } }).metrics?.listen, '127.0.0.1:9464');
  assert.equal(loadAgentConfig({ env: { ...base, GITFLEET_METRICS_LISTEN: '[::1]:9464' } }).metrics?.listen, '[::1]:9464');
  assert.throws(() => loadAgentConfig({ env: { ...base, GITFLEET_METRICS_LISTEN: '0.0.0.0:9464' } }), /metrics\.listen.*not loopback.*allowRemote/);
  assert.equal(loadAgentConfig({ env: { ...base, GITFLEET_METRICS_LISTEN: '0.0.0.0:9464', GITFLEET_METRICS_ALLOW_REMOTE: 'true' } }).metrics?.allowRemote, true);
  assert.throws(() => loadAgentConfig({ env: { ...base, GITFLEET_METRICS_TEXTFILE_DIR: 'relative' } }), /metrics\.textfileDir/);
});
