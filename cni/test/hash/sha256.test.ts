import { createHash } from 'node:crypto';
import t from 'tap';
import { sha256Hex } from '../../src/hash/sha256.js';

const reference = (text: string): string => createHash('sha256').update(text).digest('hex');

t.test('known answers from FIPS 180-4 examples', async (t) => {
  t.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  t.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.equal(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
});

t.test('agrees with node:crypto at every length around block boundaries, and on non-ASCII text', async (t) => {
  const texts: string[] = [];
  for (let length = 0; length <= 200; length += 1) texts.push('x'.repeat(length));
  texts.push('réseau/容器/eth0', 'a'.repeat(1000), 'net/0123456789abcdef/eth0');
  for (const text of texts) t.equal(sha256Hex(text), reference(text), `length ${text.length}`);
});
