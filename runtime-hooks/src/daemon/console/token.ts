import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';

export const consoleCookieName = 'berth_console';

/** 192 random bits, fresh at every berthd start. */
export function newConsoleToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Constant-time whatever the given text: both sides are hashed to 32 bytes before the compare. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(expected), digest(given));
}

/**
 * Every console request over TCP carries the start's token: in `?token=` (the printed URL; answered with a cookie
 * and a redirect to the same page without it, so it leaves the address bar and history) or in the cookie.
 * The cookie is HttpOnly and SameSite=Strict: another site's page cannot ride on it.
 */
export function requireConsoleToken(token: string): MiddlewareHandler {
  return async (c, next) => {
    const fromQuery = c.req.query('token');
    if (fromQuery !== undefined && tokenMatches(token, fromQuery) && c.req.method === 'GET') {
      setCookie(c, consoleCookieName, token, { httpOnly: true, sameSite: 'Strict', path: '/console' });
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      return c.redirect(`${url.pathname}${url.search}`, 303);
    }
    if (tokenMatches(token, getCookie(c, consoleCookieName))) return next();
    return c.text('Berth console: missing or wrong access token. Open the URL berthd printed when it started (it changes at every start).\n', 401);
  };
}
