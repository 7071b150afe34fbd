/**
 * The synthetic generators' randomness and noise (src/synthetic/randomness.ts, noise.ts): seeds
 * folded without collisions between large, negative and small ones, streams that differ, the
 * draws' ranges and moments, and value noise that interpolates its hashed lattice smoothly.
 */
import assert from 'node:assert/strict';
import { seededRng } from '../src/math/random';
import { fbm, valueNoise } from '../src/synthetic/noise';
import { deriveSeed, hashUnit, normalish, seedToUint32, uniform } from '../src/synthetic/randomness';

describe('synthetic randomness and noise', () => {
  it('folds any finite seed into 32 bits, keeping large and negative seeds apart', () => {
    const seeds = [0, 1, -1, 5, 2 ** 32 + 5, -(2 ** 33) + 5, 1e15, -1e15, 3.7];
    const folded = seeds.map(seedToUint32);
    // 32 bits as XOR leaves them (signed); seededRng reads them back with `>>> 0`.
    for (const f of folded) assert.equal(f | 0, f, String(f));
    assert.equal(seedToUint32(3.7), seedToUint32(3), 'fractions are truncated');
    assert.equal(new Set(folded.slice(0, 8)).size, 8, 'no two of the integer seeds collide');
    for (const bad of [NaN, Infinity, -Infinity]) assert.throws(() => seedToUint32(bad), /finite/);
  });

  it('derives a different seed for every stream and index, the same every time', () => {
    const seen = new Set<number>();
    for (let stream = 0; stream < 20; stream++)
      for (let index = 0; index < 50; index++) {
        const s = deriveSeed(7, stream, index);
        assert.equal(s, deriveSeed(7, stream, index));
        seen.add(s);
      }
    assert.equal(seen.size, 1000);
    assert.notEqual(deriveSeed(7, 1, 0), deriveSeed(8, 1, 0));
  });

  it('draws uniform values in [lo, hi) and near-normal values with unit variance', () => {
    const rng = seededRng(11);
    let sum = 0;
    let sumSq = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const u = uniform(rng, -3, 5);
      assert.ok(u >= -3 && u < 5);
      const z = normalish(rng);
      sum += z;
      sumSq += z * z;
    }
    assert.ok(Math.abs(sum / n) < 0.05, `mean ${sum / n}`);
    assert.ok(Math.abs(sumSq / n - 1) < 0.05, `variance ${sumSq / n}`);
  });

  it('value noise meets its hashed lattice at integer points and varies smoothly between', () => {
    for (const [x, y] of [
      [0, 0],
      [3, -2],
      [17, 40],
    ])
      assert.equal(valueNoise(x, y, 5), hashUnit(x, y, 5));
    let largestStep = 0;
    for (let i = 0; i < 2000; i++) {
      const x = i * 0.01;
      const v = valueNoise(x, 1.3, 5);
      assert.ok(v >= 0 && v < 1);
      largestStep = Math.max(largestStep, Math.abs(valueNoise(x + 0.01, 1.3, 5) - v));
    }
    assert.ok(largestStep < 0.05, `largest step ${largestStep}`);
    for (let i = 0; i < 500; i++) {
      const f = fbm(i * 0.37, i * 0.11, 9, 4);
      assert.ok(f >= 0 && f < 1, String(f));
    }
    assert.notEqual(valueNoise(2.5, 2.5, 1), valueNoise(2.5, 2.5, 2), 'the salt picks the lattice');
  });
});
