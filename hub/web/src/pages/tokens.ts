// Scoped enrollment tokens (admins only): the list with state and uses, a
// form to create one (its secret is shown once, right here, and never again:
// the hub keeps only a hash) and a revoke button per token.
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../api.ts';
import type { EnrollmentToken } from '../api.ts';
import { useFetch } from '../use-fetch.ts';
import type { PageProps } from './context.ts';

const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;
const errorText = (e: unknown) => (e instanceof ApiError || e instanceof Error ? e.message : String(e));

export function TokensPage(p: PageProps) {
  const [reload, setReload] = useState(0);
  const [form, setForm] = useState({ name: '', expiresIn: '24h', maxUses: '', hostPattern: '', tag: '' });
  const [created, setCreated] = useState<EnrollmentToken | null>(null);
  const [note, setNote] = useState<{ error: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const tokens = useFetch((signal) => p.api.enrollmentTokens(signal), [reload]);
  if (p.role !== 'admin') return h('div', { class: 'page tokens' }, h('h1', null, 'Enrollment tokens'), h('p', { class: 'error' }, 'Only admins can see and manage enrollment tokens.'));

  const submit = (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setNote(null);
    const body = {
      name: form.name.trim(),
      ...(form.expiresIn.trim() ? { expiresIn: form.expiresIn.trim() } : {}),
      ...(form.maxUses.trim() ? { maxUses: Number(form.maxUses) } : {}),
      ...(form.hostPattern.trim() ? { hostPattern: form.hostPattern.trim() } : {}),
      ...(form.tag.trim() ? { tag: form.tag.trim() } : {}),
    };
    p.api.createEnrollmentToken(body).then(
      (t) => {
        setBusy(false);
        setCreated(t);
        setForm({ name: '', expiresIn: '24h', maxUses: '', hostPattern: '', tag: '' });
        setReload((n) => n + 1);
      },
      (error: unknown) => {
        setBusy(false);
        setNote({ error: true, text: errorText(error) });
      },
    );
  };
  const revoke = (t: EnrollmentToken) => {
    if (!confirm(`Revoke ${t.id} (${t.name})? It enrolls nothing more; hosts it enrolled keep their credentials.`)) return;
    p.api.revokeEnrollmentToken(t.id).then(
      () => {
        setNote({ error: false, text: `Revoked ${t.id}.` });
        setReload((n) => n + 1);
      },
      (error: unknown) => setNote({ error: true, text: errorText(error) }),
    );
  };
  const field = (key: keyof typeof form, label: string, extra: Record<string, unknown> = {}) =>
    h('label', null, label, h('input', { name: key, value: form[key], onInput: (e: Event) => setForm({ ...form, [key]: value(e) }), ...extra }));

  return h(
    'div',
    { class: 'page tokens' },
    h('h1', null, 'Enrollment tokens'),
    h('p', { class: 'muted' }, 'A scoped token lets new hosts enroll: until it expires, up to its number of uses, only host ids matching its pattern and only hosts the repo declares in its tag. Enrolled hosts use their own credential from then on.'),
    h(
      'form',
      { class: 'filters', onSubmit: submit, 'aria-label': 'create an enrollment token' },
      field('name', 'Name', { required: true, maxLength: 100, placeholder: 'kiosk rollout' }),
      field('expiresIn', 'Expires in', { placeholder: '24h', pattern: '([0-9]+(\\.[0-9]+)?(ms|s|m|h))+', size: 8 }),
      field('maxUses', 'Max uses', { type: 'number', min: 1, placeholder: 'unlimited', size: 8 }),
      field('hostPattern', 'Host ids', { placeholder: 'kiosk-*' }),
      field('tag', 'Tag', { placeholder: 'prod/kiosks' }),
      h('button', { type: 'submit', disabled: busy || form.name.trim() === '', 'data-action': 'create-token' }, busy ? 'Creating…' : 'Create token'),
    ),
    created
      ? h(
          'div',
          { class: 'notice', role: 'status', 'data-created': created.id },
          h('p', null, `Created ${created.id} (${created.name}). Copy the secret now: it is not shown again.`),
          h('code', { 'data-secret': '' }, created.token ?? ''),
          ' ',
          h('button', { type: 'button', class: 'secondary', onClick: () => void navigator.clipboard?.writeText(created.token ?? '') }, 'Copy'),
          ' ',
          h('button', { type: 'button', class: 'secondary', onClick: () => setCreated(null) }, 'Done'),
        )
      : null,
    note ? h('p', { class: note.error ? 'error' : 'muted', role: note.error ? 'alert' : 'status' }, note.text) : null,
    tokens.error ? h('p', { class: 'error' }, tokens.error) : null,
    tokens.data
      ? tokens.data.tokens.length === 0
        ? h('p', { class: 'muted' }, 'No enrollment tokens.')
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'tokens-table' },
              h('thead', null, h('tr', null, ['Id', 'Name', 'State', 'Uses', 'Expires', 'Host ids', 'Tag', ''].map((c) => h('th', { key: c, scope: 'col' }, c)))),
              h(
                'tbody',
                null,
                tokens.data.tokens.map((t) =>
                  h(
                    'tr',
                    { key: t.id, 'data-token': t.id },
                    h('td', null, h('code', null, t.id)),
                    h('td', null, t.name),
                    h('td', null, h('span', { class: `badge ${t.state === 'active' ? 'sync-InSync' : 'sync-Drifted'}` }, t.state)),
                    h('td', null, `${t.uses} / ${t.maxUses ?? '∞'}`),
                    h('td', null, t.expiresAt ? new Date(t.expiresAt).toLocaleString() : 'never'),
                    h('td', null, t.hostPattern ?? 'any'),
                    h('td', null, t.tag ?? 'any'),
                    h('td', null, h('button', { type: 'button', class: 'secondary', 'data-action': 'revoke', onClick: () => revoke(t) }, 'Revoke')),
                  ),
                ),
              ),
            ),
          )
      : h('p', { class: 'muted' }, 'Loading…'),
  );
}
