/**
 * A KV client process for the cluster conformance tests, run inside a test host's namespace. Config is argv[2]
 * (JSON); commands arrive as JSON lines on stdin, answers leave as JSON lines on stdout; every operation is
 * recorded to the history file as it happens, so a killed client still leaves its history.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { openEtcdClient, Store } from '@berth/secrets';
import { FileHistorySink, HistoryRecorder, monotonicClock } from '../linearizability/index.js';
import { RecordedKv } from './recorded-kv.js';
import { runWorkload } from './workload.js';

export interface KvClientConfig {
  readonly clientId: number;
  readonly endpoints: readonly string[];
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly historyFile: string;
  readonly readConsistency: 'linearizable' | 'serializable';
  readonly requestTimeoutMs: number;
}

type Command =
  | { id: number; op: 'put'; key: string; value: string }
  | { id: number; op: 'get'; key: string }
  | { id: number; op: 'cas'; key: string; expected: string | null; value: string }
  | { id: number; op: 'workload'; keys: string[]; durationMs: number; opsMax: number; pauseMs: number; seed: number }
  | { id: number; op: 'close' };

const config = JSON.parse(process.argv[2] ?? '{}') as KvClientConfig;
const kvStore = openEtcdClient({
  endpoints: config.endpoints,
  tls: { caPem: readFileSync(config.caFile, 'utf8'), certPem: readFileSync(config.certFile, 'utf8'), keyPem: readFileSync(config.keyFile, 'utf8') },
  readConsistency: config.readConsistency,
  limits: { requestTimeoutMs: config.requestTimeoutMs, dialTimeoutMs: config.requestTimeoutMs },
});
const sink = new FileHistorySink(config.historyFile);
const kv = new RecordedKv(new Store(kvStore), new HistoryRecorder({ clientId: config.clientId, clock: monotonicClock, sink }));

async function run(command: Command): Promise<Record<string, unknown>> {
  switch (command.op) {
    case 'put': return { result: await kv.put(command.key, command.value) };
    case 'get': return { result: await kv.get(command.key) };
    case 'cas': return { result: await kv.cas(command.key, command.expected, command.value) };
    case 'workload': return { result: await runWorkload(kv, { ...command, clientId: config.clientId }) };
    case 'close': return { result: 'closed' };
  }
}

const reply = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
process.on('warning', () => undefined);
reply({ ready: true });
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const command = JSON.parse(line) as Command;
  try {
    reply({ id: command.id, ...(await run(command)) });
  } catch (error) {
    reply({ id: command.id, error: error instanceof Error ? error.message : String(error) });
  }
  if (command.op === 'close') break;
}
sink.close();
await kvStore.close();
process.stdout.write('', () => process.exit(0));
