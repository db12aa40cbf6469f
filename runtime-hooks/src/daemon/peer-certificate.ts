import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Context } from 'hono';

/** Hono bindings of a server on @hono/node-server: the Node request, whose socket is a TLS socket on the join port. */
export type TlsEnv = { Bindings: { incoming: IncomingMessage } };

/** The client certificate a node presented (PEM), when the TLS layer verified it against the cluster CA. */
export function peerCertificate(c: Context<TlsEnv>): string | undefined {
  const socket = c.env.incoming.socket as TLSSocket;
  if (!socket.authorized) return undefined;
  const raw = socket.getPeerCertificate().raw;
  if (raw === undefined) return undefined;
  return `-----BEGIN CERTIFICATE-----\n${raw.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
}
