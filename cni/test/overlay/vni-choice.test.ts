import t from 'tap';
import { chooseVni, clusterVniFirst } from '../../src/overlay/vni-choice.js';

t.test('a requested VNI is taken as given when free, refused naming its holder when not, refused out of range', async (t) => {
  const inUse = new Map([[42, 'blue']]);
  t.equal(chooseVni(inUse, 43), 43);
  t.throws(() => chooseVni(inUse, 42), /VNI 42 is in use by network blue/);
  for (const bad of [0, -1, 0x1000000, 1.5]) t.throws(() => chooseVni(inUse, bad), /not an integer from 1 to 16777215/, `${bad} refused`);
});

t.test('without a request: the lowest free VNI from 4096 up, then below 4096, unique among those in use', async (t) => {
  t.equal(chooseVni(new Map()), clusterVniFirst);
  t.equal(chooseVni(new Map([[4096, 'a'], [4097, 'b'], [4099, 'c']])), 4098);
  t.equal(chooseVni(new Map([[42, 'static']])), 4096, 'a VNI below the cluster range does not move it');
  const names = new Map<number, string>();
  for (let index = 0; index < 50; index += 1) names.set(chooseVni(names), `n${index}`);
  t.equal(names.size, 50, 'fifty choices, fifty distinct VNIs');
});
