// Login: the operator types an admin or viewer token; it is checked against
// /api/v1/whoami before it is kept, so a typo is reported at once.
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { Api, ApiError } from '../api.ts';
import type { Session } from '../session.ts';

export function LoginPage({ onLogin, notice }: { onLogin: (s: Session) => void; notice: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: Event) => {
    e.preventDefault();
    const t = token.trim();
    if (t === '') {
      setError('Enter a token.');
      return;
    }
    setBusy(true);
    setError(null);
    new Api(t).whoami().then(
      ({ role, commitUrl }) => onLogin({ token: t, role, commitUrl: commitUrl ?? null }),
      (err: unknown) => {
        setBusy(false);
        setError(err instanceof ApiError && err.status === 401 ? 'The hub does not accept this token.' : `Cannot reach the hub: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  };
  return h(
    'main',
    { class: 'login', id: 'main' },
    h('h1', null, 'gitfleet'),
    h(
      'form',
      { onSubmit: submit, class: 'login-form' },
      h('p', null, 'Sign in with the hub’s admin or viewer token.'),
      notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
      h('label', { for: 'token' }, 'Token'),
      h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true, value: token, onInput: (e: Event) => setToken((e.currentTarget as HTMLInputElement).value) }),
      error ? h('p', { class: 'error', role: 'alert' }, error) : null,
      h('button', { type: 'submit', disabled: busy }, busy ? 'Checking…' : 'Sign in'),
    ),
  );
}
