/** The interpreter as an NftBackend, so enforcer/plugin tests without a kernel still go through real transactions. */
import type { NftOutput, NftScript } from '@berth/nftables-napi';
import type { NftBackendFactory } from '../../src/enforce/backend.js';
import { NftInterpreter } from './nft-interpreter.js';

export function interpreterBackend(interpreter: NftInterpreter): NftBackendFactory {
  return () => ({
    run(script: NftScript): NftOutput {
      const lists = script.nftables.filter((command) => 'list' in command);
      if (lists.length === 0) {
        interpreter.apply(script);
        return { nftables: [] };
      }
      const objects = lists.map((command) => {
        const target = (command as { list: { set?: { table: string; name: string } } }).list.set;
        if (target === undefined) throw new Error('the interpreter backend lists sets only');
        const values = interpreter.setValues(target.table, target.name);
        if (values === null) throw new Error(`list set ${target.name}: No such file or directory`);
        return { set: { family: 'inet' as const, table: target.table, name: target.name, type: 'mark' as const, elem: values.map(Number) } };
      });
      return { nftables: objects };
    },
    close() {},
  });
}
