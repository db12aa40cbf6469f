import { createPublicKey } from 'node:crypto';
import type { Logger } from '@berth/cni';
import type { ClusterNode } from './cluster-node.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { callAnyManager } from './manager-call.js';
import { issueAdminCertificate, issueNodeCertificate, verifyNodeCertificate } from './node-cert.js';
import { parseCertificate } from './pki.js';
import { recordIssued } from './revocation.js';

/** A certificate is renewed once two thirds of its life have passed (as kubelet and swarm do, roughly). */
export function renewalDueAt(notBefore: Date, notAfter: Date): Date {
  return new Date(notBefore.getTime() + ((notAfter.getTime() - notBefore.getTime()) * 2) / 3);
}

/** setTimeout fires at once past 2^31-1 ms: long waits are taken in steps of at most a day, re-checked each time. */
const waitStepMsMax = 86_400_000;
const retryMsInitial = 1_000;
const retryMsMax = 60_000;

/**
 * Renews this node's certificate at two thirds of its life, keeping its key: a manager signs its own (it holds the CA
 * key), a worker asks a manager over mTLS with its current certificate. Failures are retried with capped backoff
 * until the certificate expires.
 */
export class CertificateRenewal {
  readonly #node: ClusterNode;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #retryMs = retryMsInitial;
  #stopped = false;

  constructor(options: { node: ClusterNode; logger: Logger }) {
    this.#node = options.node;
    this.#logger = options.logger;
  }

  start(): void {
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(delayOverrideMs?: number): void {
    if (this.#stopped) return;
    const active = this.#node.active;
    if (active === undefined) return;
    const certificate = parseCertificate(active.tls.certPem, 'node certificate');
    const dueMs = renewalDueAt(new Date(certificate.validFrom), new Date(certificate.validTo)).getTime();
    const delayMs = Math.max(0, Math.min(delayOverrideMs ?? dueMs - Date.now(), waitStepMsMax));
    this.#timer = setTimeout(() => void this.#tick(dueMs), delayMs);
    this.#timer.unref();
  }

  async #tick(dueMs: number): Promise<void> {
    if (this.#stopped) return;
    if (Date.now() < dueMs) {
      this.#schedule();
      return;
    }
    try {
      await this.#node.exclusive(() => renewCertificate(this.#node));
      this.#retryMs = retryMsInitial;
      this.#schedule();
    } catch (error) {
      this.#logger.warn({ err: error instanceof Error ? error.message : String(error), retryMs: this.#retryMs }, 'certificate renewal failed; retrying');
      this.#schedule(this.#retryMs);
      this.#retryMs = Math.min(retryMsMax, this.#retryMs * 2);
    }
  }
}

/** Renews now (also what `#tick` runs); resolves once the new certificate is in use. */
export async function renewCertificate(node: ClusterNode): Promise<{ notAfter: Date }> {
  const active = node.requireActive();
  const current = verifyNodeCertificate({ certificatePem: active.tls.certPem, caCertificatePem: active.tls.caPem });
  let certificatePem: string;
  let adminCertificatePem: string | undefined;
  if (active.state.role === 'manager') {
    const ca = await node.loadCa();
    const common = { ca, subjectKey: { certificatePem: active.tls.certPem }, nodeId: current.nodeId, validitySeconds: node.certificateValiditySeconds };
    certificatePem = await issueNodeCertificate({ ...common, role: 'manager', addresses: [active.state.advertiseAddress] });
    adminCertificatePem = await issueAdminCertificate(common);
    await recordIssued(active.store, current.nodeId, [certificatePem, adminCertificatePem]);
  } else {
    certificatePem = await askManagerToRenew(node);
  }
  const renewed = verifyNodeCertificate({ certificatePem, caCertificatePem: active.tls.caPem });
  if (renewed.nodeId !== current.nodeId || renewed.role !== current.role || !sameKey(certificatePem, active.tls.keyPem)) {
    throw new ClusterError(ClusterErrorCode.CertificateInvalid, 'The renewed certificate does not name this node, its role and its key');
  }
  await node.installRenewed({ certificatePem, adminCertificatePem });
  node.logger.info({ nodeId: renewed.nodeId, notAfter: renewed.notAfter.toISOString() }, 'node certificate renewed');
  return { notAfter: renewed.notAfter };
}

async function askManagerToRenew(node: ClusterNode): Promise<string> {
  const certificatePem = ((await callAnyManager(node, '/v1/node/renew')) as { certificatePem?: unknown } | null)?.certificatePem;
  if (typeof certificatePem !== 'string') throw new ClusterError(ClusterErrorCode.JoinFailed, 'The renewal answer has no certificate');
  return certificatePem;
}

/** Whether the certificate's public key is the one of this private key. */
export function sameKey(certificatePem: string, privateKeyPem: string): boolean {
  const fromCertificate = parseCertificate(certificatePem, 'certificate').publicKey.export({ type: 'spki', format: 'der' });
  const fromKey = createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' });
  return fromCertificate.equals(fromKey);
}
