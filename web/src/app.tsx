import { useEffect, useState } from 'preact/hooks';
import { ApiError, forgetKey, getJson, INTERNAL, onUnauthorized, saveKey, storedKey } from './api';
import { Failure } from './components/bits';
import { BatchPage } from './pages/batch';
import { BatchesPage } from './pages/batches';
import { DebuggerPage } from './pages/debugger';
import { OverviewPage } from './pages/overview';
import { SessionPage } from './pages/session';
import { hrefOf, useRoute, type Route } from './router';

type Access =
  | { readonly state: 'checking' }
  | { readonly state: 'open' }
  | { readonly state: 'needs-key'; readonly refused: boolean }
  | { readonly state: 'failed'; readonly error: unknown };

/**
 * Whether the API answers with what this tab holds: no key at all (a service without keys, on this
 * machine), or the admin key typed in earlier. A 401 asks for the key.
 */
async function check(): Promise<Access> {
  try {
    await getJson(`${INTERNAL}/batches`, { limit: 1 });
    return { state: 'open' };
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return { state: 'needs-key', refused: storedKey() !== null };
    return { state: 'failed', error };
  }
}

function KeyForm({ refused, onKey }: { refused: boolean; onKey: (key: string) => void }) {
  const [key, setKey] = useState('');
  return (
    <form
      class="key-form card"
      data-testid="key-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (key.trim() !== '') onKey(key.trim());
      }}
    >
      <h2>Admin key</h2>
      <p>
        This service needs its admin key (<code>CLICKSTREAM_ADMIN_KEY</code>). It is kept in this tab only
        (sessionStorage) and sent as <code>Authorization: Bearer</code>, never in a URL.
      </p>
      {refused ? (
        <p class="failure" role="alert" data-testid="key-refused">
          The service refused the key: type it again.
        </p>
      ) : null}
      <label>
        key{' '}
        <input
          type="password"
          autoComplete="off"
          size={40}
          value={key}
          data-testid="key-input"
          onInput={(event) => {
            setKey(event.currentTarget.value);
          }}
        />
      </label>{' '}
      <button type="submit" class="primary" data-testid="key-submit">
        Open the dashboard
      </button>
    </form>
  );
}

const NAV: readonly { readonly label: string; readonly route: Route; readonly pages: readonly Route['page'][] }[] = [
  { label: 'Overview', route: { page: 'overview' }, pages: ['overview'] },
  { label: 'Batches', route: { page: 'batches' }, pages: ['batches', 'batch'] },
  { label: 'Session inspector', route: { page: 'session', sessionId: null }, pages: ['session'] },
  { label: 'Events debugger', route: { page: 'debugger', sessionId: null, code: null }, pages: ['debugger'] },
];

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <OverviewPage />;
    case 'batches':
      return <BatchesPage />;
    case 'batch':
      return <BatchPage key={route.batchId} batchId={route.batchId} />;
    case 'session':
      return <SessionPage sessionId={route.sessionId} />;
    case 'debugger':
      return (
        <DebuggerPage
          key={`${route.sessionId ?? ''}|${route.code ?? ''}`}
          sessionId={route.sessionId}
          code={route.code}
        />
      );
  }
}

export function App() {
  const route = useRoute();
  const [access, setAccess] = useState<Access>({ state: 'checking' });
  const recheck = () => {
    setAccess({ state: 'checking' });
    void check().then(setAccess);
  };
  useEffect(() => {
    recheck();
    // A key that stops working (changed on the service) brings the form back.
    return onUnauthorized(() => {
      setAccess({ state: 'needs-key', refused: storedKey() !== null });
    });
  }, []);
  const keyed = storedKey() !== null;
  return (
    <>
      <header class="top">
        <a class="brand" href={hrefOf({ page: 'overview' })}>
          Clickstream collector
        </a>
        <nav>
          {NAV.map((item) => (
            <a
              key={item.label}
              href={hrefOf(item.route)}
              class={item.pages.includes(route.page) ? 'active' : ''}
              data-testid={`nav-${item.route.page}`}
            >
              {item.label}
            </a>
          ))}
        </nav>
        <div class="spacer" />
        <a href="/docs" class="muted">
          API docs
        </a>
        {keyed ? (
          <button
            type="button"
            class="link"
            data-testid="forget-key"
            onClick={() => {
              forgetKey();
              recheck();
            }}
          >
            Forget the key
          </button>
        ) : null}
      </header>
      <main>
        {access.state === 'checking' ? <p class="muted loading">Connecting…</p> : null}
        {access.state === 'needs-key' ? (
          <KeyForm
            refused={access.refused}
            onKey={(key) => {
              saveKey(key);
              recheck();
            }}
          />
        ) : null}
        {access.state === 'failed' ? (
          <div class="card">
            <Failure error={access.error} />
            <button type="button" onClick={recheck}>
              Try again
            </button>
          </div>
        ) : null}
        {access.state === 'open' ? <Page route={route} /> : null}
      </main>
    </>
  );
}
