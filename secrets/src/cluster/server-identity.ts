import { checkServerIdentity as checkTlsName, type PeerCertificate } from 'node:tls';
import { EtcdKvStore, type EtcdKvStoreOptions } from '../store/etcd-kv-store.js';
import type { ServerIdentityCheck } from '../store/tls-credentials.js';
import { clusterIdOfCa } from './ca.js';

function field(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * What every Berth client requires of the server it talks to (an etcd member, a join endpoint), after the chain was
 * verified against the cluster CA: the usual name check, then a certificate of this cluster with the manager role.
 * A worker's certificate, even one with serverAuth from before this rule, cannot pose as a manager.
 */
export function requireManagerServer(caPem: string): ServerIdentityCheck {
  const organization = `berth-${clusterIdOfCa(caPem)}`;
  return (hostname: string, certificate: PeerCertificate) => {
    const nameError = checkTlsName(hostname, certificate);
    if (nameError !== undefined) return nameError;
    const role = field(certificate.subject?.OU);
    if (role !== 'manager' || field(certificate.subject?.O) !== organization) {
      return new Error(`${hostname} presents a certificate of role ${role ?? 'none'} (${field(certificate.subject?.CN) ?? '?'}), not a manager of this cluster`);
    }
    return undefined;
  };
}

/** A store client that talks only to members holding a manager certificate of the cluster whose CA it trusts. */
export function openEtcdClient(options: Omit<EtcdKvStoreOptions, 'checkServerIdentity'>): EtcdKvStore {
  return new EtcdKvStore({ ...options, checkServerIdentity: requireManagerServer(options.tls.caPem) });
}
