import { CommanderError } from 'commander';
import { createLogger } from '@berth/cni';
import { setDumpable } from '@berth/netns-napi';
import { Daemon } from './daemon.js';
import { daemonExitCodes, parseDaemonOptions } from './options.js';

/** `berthd` entry: parse, start, stop cleanly on SIGTERM/SIGINT (exit 0), report start failures (exit 1) and invalid options (exit 2). */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let options;
  try {
    options = parseDaemonOptions(argv, env);
  } catch (error) {
    const asked = error instanceof CommanderError && (error.code === 'commander.helpDisplayed' || error.code === 'commander.version');
    process.exitCode = asked ? daemonExitCodes.ok : daemonExitCodes.usage;
    // commander has printed its own message; any other error (a value checked after parsing) is printed here.
    if (!(error instanceof CommanderError)) process.stderr.write(`berthd: ${error instanceof Error ? error.message : String(error)}\n`);
    return;
  }
  const logger = createLogger('berthd', { BERTH_LOG_LEVEL: 'info', ...env });
  quietIpServerNameWarning();
  // berthd holds secrets' plaintext while it writes them and managers hold the cluster key: no core dumps.
  setDumpable(false);
  let daemon: Daemon;
  try {
    daemon = await Daemon.start(options, logger);
  } catch (error) {
    process.stderr.write(`berthd: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = daemonExitCodes.startFailed;
    return;
  }
  if (daemon.consoleUrl !== undefined) process.stderr.write(`berthd: console at ${daemon.consoleUrl}\n`);
  process.stderr.write(`berthd: ready on ${options.socketPath}\n`);
  let signals = 0;
  const shutdown = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      process.stderr.write(`berthd: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    daemon.stop().then(() => process.exit(0), (error: unknown) => {
      process.stderr.write(`berthd: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

/**
 * grpc-js passes the member's IP address as TLS server name, which Node flags (DEP0123) on every connection; the
 * certificate is still checked against the IP SAN. Every other warning is printed as usual.
 */
function quietIpServerNameWarning(): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    if (warning.code !== 'DEP0123') process.stderr.write(`berthd: ${warning.name}: ${warning.message}\n`);
  });
}
