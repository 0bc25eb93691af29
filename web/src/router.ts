/**
 * Hash routes (`#/batch/<id>`): the service serves one page, and a reload or a shared link opens the same
 * view. Ids are URL-encoded in the hash; nothing secret ever goes there.
 */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { readonly page: 'overview' }
  | { readonly page: 'batches' }
  | { readonly page: 'batch'; readonly batchId: string }
  | { readonly page: 'session'; readonly sessionId: string | null }
  | { readonly page: 'debugger'; readonly sessionId: string | null; readonly code: string | null };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?', 2);
  const parts = path.split('/').filter((part) => part !== '');
  const params = new URLSearchParams(query);
  const id = parts[1] === undefined ? null : decodeURIComponent(parts[1]);
  switch (parts[0]) {
    case 'batches':
      return { page: 'batches' };
    case 'batch':
      return id === null ? { page: 'batches' } : { page: 'batch', batchId: id };
    case 'session':
      return { page: 'session', sessionId: id };
    case 'debugger':
      return { page: 'debugger', sessionId: params.get('session_id'), code: params.get('code') };
    default:
      return { page: 'overview' };
  }
}

export function hrefOf(route: Route): string {
  switch (route.page) {
    case 'overview':
      return '#/overview';
    case 'batches':
      return '#/batches';
    case 'batch':
      return `#/batch/${encodeURIComponent(route.batchId)}`;
    case 'session':
      return route.sessionId === null ? '#/session' : `#/session/${encodeURIComponent(route.sessionId)}`;
    case 'debugger': {
      const params = new URLSearchParams();
      if (route.sessionId) params.set('session_id', route.sessionId);
      if (route.code) params.set('code', route.code);
      const query = params.toString();
      return query === '' ? '#/debugger' : `#/debugger?${query}`;
    }
  }
}

export const batchHref = (batchId: string): string => hrefOf({ page: 'batch', batchId });
export const sessionHref = (sessionId: string): string => hrefOf({ page: 'session', sessionId });

export function navigate(route: Route): void {
  location.hash = hrefOf(route);
}

/** The current route, updated on every hash change. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = () => {
      setRoute(parseRoute(location.hash));
    };
    addEventListener('hashchange', changed);
    return () => {
      removeEventListener('hashchange', changed);
    };
  }, []);
  return route;
}
