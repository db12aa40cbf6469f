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
  return raw === undefined ? undefined : derToPem(raw);
}

/** PEM of a DER certificate: base64 in lines of 64, none empty (a DER whose base64 fills its last line exactly too). */
export function derToPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
