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

const forwarded: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Where the signals for a foreground container come from: subscribes `deliver`, returns the unsubscribe. */
export type SignalSource = (deliver: (signal: NodeJS.Signals | number) => void) => () => void;

/** The signals this process receives (those a terminal or a supervisor sends a foreground runtime). */
export const processSignals: SignalSource = (deliver) => {
  for (const signal of forwarded) process.on(signal, deliver);
  return () => {
    for (const signal of forwarded) process.off(signal, deliver);
  };
};

export interface SignalForwarder {
  /** From now on signals go to `pid`; those that arrived before it was known are delivered first, in order. */
  forwardTo(pid: number): void;
  stop(): void;
}

/**
 * Catches the signals a foreground runtime receives from the start (so one that arrives while the container is being
 * created does not kill the runtime half-way) and forwards them to the container's process once it is known.
 */
export function signalForwarder(source: SignalSource = processSignals): SignalForwarder {
  let target: number | undefined;
  const pending: (NodeJS.Signals | number)[] = [];
  const pendingMax = 16;
  const send = (pid: number, signal: NodeJS.Signals | number): void => {
    try {
      process.kill(pid, signal);
    } catch {
      // the process is already gone
    }
  };
  const unsubscribe = source((signal) => {
    if (target !== undefined) send(target, signal);
    else if (pending.length < pendingMax) pending.push(signal);
  });
  return {
    forwardTo(pid) {
      target = pid;
      for (const signal of pending.splice(0)) send(pid, signal);
    },
    stop: unsubscribe,
  };
}

/** Forwards the signals a foreground runtime receives to the container's process, until it exits. */
export async function forwardSignalsUntil(pid: number, exited: Promise<number>): Promise<number> {
  const forwarder = signalForwarder();
  forwarder.forwardTo(pid);
  try {
    return await exited;
  } finally {
    forwarder.stop();
  }
}
