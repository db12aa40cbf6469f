import { constants } from 'node:os';
import { RuntimeError } from './errors.js';

/** A signal as runc's kill takes it: a number, or a name with or without SIG (KILL, SIGKILL, kill). */
export function parseSignal(text: string): NodeJS.Signals | number {
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (number < 1 || number > 64) throw new RuntimeError(`unknown signal "${text}"`);
    return number;
  }
  const upper = text.toUpperCase();
  const name = (upper.startsWith('SIG') ? upper : `SIG${upper}`) as NodeJS.Signals;
  if (!Object.hasOwn(constants.signals, name)) throw new RuntimeError(`unknown signal "${text}"`);
  return name;
}

/** Forwards the signals a foreground runtime receives to the container's process, until it exits. */
export async function forwardSignalsUntil(pid: number, exited: Promise<number>): Promise<number> {
  const forwarded: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  const handler = (signal: NodeJS.Signals): void => {
    try {
      process.kill(pid, signal);
    } catch {
      // the process is already gone
    }
  };
  for (const signal of forwarded) process.on(signal, handler);
  try {
    return await exited;
  } finally {
    for (const signal of forwarded) process.off(signal, handler);
  }
}
