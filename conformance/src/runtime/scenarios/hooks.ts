import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { check, checkEqual, type Scenario, type ScenarioContext } from '../scenario.js';

const stages = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
type Stage = (typeof stages)[number];

interface HookLine {
  readonly stage: string;
  readonly env: readonly string[];
  readonly state: Record<string, unknown>;
}

/** A hook that appends "STAGE<TAB>env,…<TAB>stdin" to $LOG; startContainer runs inside the container, so its log is /hooks/log. */
function recordingHook(stage: Stage, hostLog: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const log = stage === 'startContainer' ? '/hooks/log' : hostLog;
  return {
    path: '/bin/sh',
    args: ['sh', '-c', 'printf "%s\\t%s\\t%s\\n" "$STAGE" "$(env | sort | tr "\\n" ",")" "$(cat)" >> "$LOG"'],
    env: [`STAGE=${stage}`, `LOG=${log}`],
    ...extra,
  };
}

async function readHookLines(file: string): Promise<HookLine[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => {
    const [stage = '', env = '', state = '{}'] = line.split('\t');
    return { stage, env: env.split(',').filter(Boolean), state: JSON.parse(state) as Record<string, unknown> };
  });
}

/** create, start, wait, kill, delete a container whose config has a recording hook at every stage. */
async function lifecycleWithHooks(context: ScenarioContext): Promise<{ lines: HookLine[]; id: string; pid: number; bundle: string }> {
  const hooksDir = join(context.dir, 'hooks');
  await mkdir(hooksDir);
  const log = join(hooksDir, 'log');
  const config = context.config(['sh', '-c', 'sleep 30']);
  config['hooks'] = Object.fromEntries(stages.map((stage) => [stage, [recordingHook(stage, log)]]));
  config['annotations'] = { 'berth.test': 'hooks' };
  config.mounts.push({ destination: '/hooks', type: 'bind', source: hooksDir, options: ['rbind', 'rw'] });
  const bundle = await context.bundle(config);
  const id = context.newId();
  const created = await context.runtime.detached(['create', '--bundle', bundle, id], join(context.dir, 'out'));
  checkEqual(created.code, 0, `create exit code (${created.stderr.trim()})`);
  const pid = (JSON.parse((await context.runtime.run(['state', id])).stdout) as { pid: number }).pid;
  checkEqual((await context.runtime.run(['start', id])).code, 0, 'start exit code');
  checkEqual(await context.runtime.waitForStatus(id, 'running'), 'running', 'running');
  await context.runtime.run(['kill', id, 'KILL']);
  checkEqual(await context.runtime.waitForStatus(id, 'stopped'), 'stopped', 'stopped after kill');
  checkEqual((await context.runtime.run(['delete', id])).code, 0, 'delete exit code');
  return { lines: await readHookLines(log), id, pid, bundle };
}

const failingHook = { path: '/bin/sh', args: ['sh', '-c', 'echo refused >&2; exit 3'] };

export const hookScenarios: readonly Scenario[] = [
  {
    name: 'runtime SIGKILLed during create (in a hook): delete --force leaves nothing',
    async run(context) {
      const config = context.config(['true']);
      config['hooks'] = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '2'] }] };
      const bundle = await context.bundle(config);
      const id = context.newId();
      const runtime = spawn(context.runtime.argv(['create', '--bundle', bundle, id])[0] as string, context.runtime.argv(['create', '--bundle', bundle, id]).slice(1), { stdio: 'ignore' });
      const exited = new Promise((resolve) => runtime.on('exit', resolve));
      await sleep(500);
      runtime.kill('SIGKILL');
      await exited;
      const deleted = await context.runtime.run(['delete', '--force', id]);
      checkEqual(deleted.code, 0, `delete --force after the crash (${deleted.stderr.trim()})`);
      checkEqual(await context.runtime.status(id), undefined, 'no container left');
      await sleep(1600); // the orphaned hook (sleep 2) ends by itself
    },
  },
  {
    name: 'hooks: stdin state and environment at every stage',
    async run(context) {
      const { lines, id, pid, bundle } = await lifecycleWithHooks(context);
      checkEqual([...lines.map((line) => line.stage)].sort().join(' '), [...stages].sort().join(' '), 'every stage ran once');
      for (const line of lines) {
        checkEqual(line.state['id'], id, `${line.stage}: state id`);
        checkEqual(line.state['bundle'], bundle, `${line.stage}: state bundle`);
        checkEqual(JSON.stringify(line.state['annotations']), '{"berth.test":"hooks"}', `${line.stage}: state annotations`);
        check(line.env.includes(`STAGE=${line.stage}`), `${line.stage}: the hook's own env`);
        check(!line.env.some((entry) => entry.startsWith('BERTH_TEST_MARKER=')), `${line.stage}: nothing of the runtime's env`);
      }
      for (const line of lines.filter((entry) => ['prestart', 'createRuntime', 'poststart'].includes(entry.stage))) {
        checkEqual(line.state['pid'], pid, `${line.stage}: state pid is the container's`);
      }
      checkEqual(lines.at(-1)?.state['pid'], undefined, 'poststop: no pid');
    },
  },
  {
    name: 'hooks: order (runtime-spec: startContainer before the process, poststart after)',
    async run(context) {
      const { lines } = await lifecycleWithHooks(context);
      checkEqual(lines.map((line) => line.stage).join(' '), stages.join(' '), 'hook order');
    },
  },
  {
    name: 'hooks: status in the state at each stage (runtime-spec)',
    async run(context) {
      const { lines } = await lifecycleWithHooks(context);
      const statuses = Object.fromEntries(lines.map((line) => [line.stage, line.state['status']]));
      checkEqual(JSON.stringify(statuses), JSON.stringify({
        prestart: 'creating', createRuntime: 'creating', createContainer: 'creating', startContainer: 'created', poststart: 'running', poststop: 'stopped',
      }), 'status per stage');
    },
  },
  {
    name: 'hooks: a failing createRuntime hook fails create; poststop runs; nothing left',
    async run(context) {
      const log = join(context.dir, 'log');
      const config = context.config(['true']);
      config['hooks'] = {
        createRuntime: [failingHook],
        poststop: [recordingHook('poststop', log)],
      };
      const bundle = await context.bundle(config);
      const id = context.newId();
      const result = await context.runtime.detached(['create', '--bundle', bundle, id], join(context.dir, 'out'));
      checkEqual(result.code, 1, 'create exit code');
      check(/refused/.test(result.stderr), `the hook's stderr is in the error: ${result.stderr.trim()}`);
      checkEqual(await context.runtime.status(id), undefined, 'no container left');
      checkEqual((await readHookLines(log)).map((line) => line.stage).join(' '), 'poststop', 'poststop hook ran');
    },
  },
  {
    name: 'hooks: a failing createContainer hook fails create; nothing left',
    async run(context) {
      const config = context.config(['true']);
      config['hooks'] = { createContainer: [failingHook] };
      const id = context.newId();
      const created = await context.runtime.detached(['create', '--bundle', await context.bundle(config), id], join(context.dir, 'out'));
      checkEqual(created.code, 1, 'create exit code');
      check(/refused/.test(created.stderr), `the hook's stderr reaches the caller: ${created.stderr.trim()}`);
      checkEqual(await context.runtime.status(id), undefined, 'no container left');
    },
  },
  {
    name: 'hooks: a failing poststart hook fails start (not create) and stops the container',
    async run(context) {
      const config = context.config(['sleep', '30']);
      config['hooks'] = { poststart: [failingHook] };
      const id = context.newId();
      const created = await context.runtime.detached(['create', '--bundle', await context.bundle(config), id], join(context.dir, 'out'));
      checkEqual(created.code, 0, `create exit code (${created.stderr.trim()})`);
      checkEqual((await context.runtime.run(['start', id])).code, 1, 'start exit code');
      checkEqual(await context.runtime.waitForStatus(id, 'stopped'), 'stopped', 'the container is stopped');
    },
  },
  {
    name: 'hooks: a hook past its timeout (runtime or container side), or SIGKILLed, fails create; nothing left',
    async run(context) {
      for (const [what, stage, hook] of [
        ['timeout', 'prestart', { path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }],
        ['timeout in the container', 'createContainer', { path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }],
        ['SIGKILL', 'prestart', { path: '/bin/sh', args: ['sh', '-c', 'kill -9 $$'] }],
      ] as const) {
        const config = context.config(['true']);
        config['hooks'] = { [stage]: [hook] };
        const bundle = await context.bundle(config, what.replaceAll(' ', '-'));
        const id = context.newId();
        const started = Date.now();
        const result = await context.runtime.detached(['create', '--bundle', bundle, id], join(context.dir, `${what.replaceAll(' ', '-')}.out`));
        checkEqual(result.code, 1, `${what}: create exit code`);
        check(Date.now() - started < 10_000, `${what}: create gave up in time`);
        check(what.startsWith('timeout') ? /timeout/.test(result.stderr) : /killed|signal/.test(result.stderr), `${what}: the error says why: ${result.stderr.trim()}`);
        checkEqual(await context.runtime.status(id), undefined, `${what}: no container left`);
      }
    },
  },
];
