import type { ComponentChildren, VNode } from 'preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from './api.ts';
import { LINK_LABEL } from './format.ts';
import type { LinkState } from './live.ts';
import { type Signed, forget, loadSession, signIn } from './session.ts';
import type { Role } from './types.ts';
import './styles/base.css';
import './styles/map-and-charts.css';
import './styles/orders.css';

export const PAGES = [
  { href: '/ops', title: 'Ops dashboard', role: 'admin' },
  { href: '/customer', title: 'Order food', role: 'customer' },
  { href: '/restaurant', title: 'Restaurant board', role: 'restaurant' },
  { href: '/courier', title: 'Courier', role: 'courier' },
] as const satisfies readonly { href: string; title: string; role: Role }[];

export interface DemoInfo {
  password: string;
  accounts: Record<Role, string>;
}

/** The demo city's accounts, where the server says there is one (`dabba up`); null elsewhere. */
export function useDemo(): DemoInfo | null {
  const [demo, setDemo] = useState<DemoInfo | null>(null);
  useEffect(() => {
    api<{ demo: DemoInfo | null }>('/pages.json').then((r) => setDemo(r.demo), () => setDemo(null));
  }, []);
  return demo;
}

export function mount(page: VNode) {
  render(page, document.getElementById('app')!);
}

interface ShellProps {
  title: string;
  children: ComponentChildren;
  signed?: Signed;
  onSignOut?: () => void;
}

export function Shell({ title, children, signed, onSignOut }: ShellProps) {
  useEffect(() => {
    document.title = `${title} · dabba`;
  }, [title]);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="bar">
        <a class="brand" href="/">
          dabba
        </a>
        <h1>{title}</h1>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a key={p.href} href={p.href} aria-current={location.pathname === p.href ? 'page' : undefined}>
              {p.title}
            </a>
          ))}
        </nav>
        {signed && (
          <div class="who">
            <span>{signed.user.name}</span>
            <button type="button" class="quiet" onClick={onSignOut}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <main id="main">{children}</main>
    </>
  );
}

/** The page for one role: a sign-in form until someone of that role is signed in, then the page. */
export function RolePage({ account: role, title, children }: { account: Role; title: string; children: (signed: Signed, signOut: () => void) => ComponentChildren }) {
  const [signed, setSigned] = useState(() => loadSession(role));
  const signOut = () => {
    forget(role);
    setSigned(null);
  };
  if (!signed) {
    return (
      <Shell title={title}>
        <SignInForm role={role} onSignedIn={setSigned} />
      </Shell>
    );
  }
  return (
    <Shell title={title} signed={signed} onSignOut={signOut}>
      {children(signed, signOut)}
    </Shell>
  );
}

function SignInForm({ role, onSignedIn }: { role: Role; onSignedIn: (s: Signed) => void }) {
  const demo = useDemo();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!demo) return;
    setEmail((e) => e || demo.accounts[role]);
    setPassword((p) => p || demo.password);
  }, [demo, role]);

  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setError('');
    try {
      onSignedIn(await signIn(role, email, password));
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  };
  return (
    <form class="card narrow" onSubmit={submit} aria-labelledby="sign-in-title">
      <h2 id="sign-in-title">Sign in</h2>
      <p>This page is for {role} accounts.</p>
      {demo && (
        <p class="hint">
          Demo city: <code>{demo.accounts[role]}</code>, password <code>{demo.password}</code> (filled in).
        </p>
      )}
      <label>
        Email
        <input type="email" name="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      </label>
      <label>
        Password
        <input type="password" name="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

/** Whether a live stream or socket is up, said in words (and announced when it changes). */
export function LinkBadge({ state, label }: { state: LinkState; label: string }) {
  return (
    <span class={`badge link-${state}`} role="status">
      {label}: {LINK_LABEL[state]}
    </span>
  );
}

/** A message for screen readers and eyes alike; `alert` for failures. */
export function Notice({ text, kind = 'status' }: { text: string; kind?: 'status' | 'alert' }) {
  return (
    <p class={kind === 'alert' ? 'error' : 'notice'} role={kind} aria-live={kind === 'alert' ? 'assertive' : 'polite'}>
      {text}
    </p>
  );
}
