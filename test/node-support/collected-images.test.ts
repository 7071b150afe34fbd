import assert from 'node:assert/strict';
import {
  CollectLimitError,
  CollectedImages,
  DEFAULT_COLLECT_LIMITS,
  collectLimits,
} from '../../src/node-support/collected-images';

describe('collected images (the fit node in message mode)', () => {
  const make = (images: number, bytes: number) =>
    new CollectedImages(
      { images, bytes },
      (held, l) => `full: ${held.images}/${l.images}, ${held.bytes}/${l.bytes}`,
    );

  it('refuses the image that would pass the count or the bytes, keeping the others', () => {
    const c = make(3, 100);
    c.push(Buffer.alloc(40));
    c.push('/a/b.png');
    assert.throws(
      () => c.push(Buffer.alloc(60)),
      (err: Error) => {
        assert.ok(err instanceof CollectLimitError);
        assert.equal(err.message, 'full: 2/3, 48/100');
        return true;
      },
    );
    assert.equal(c.length, 2);
    assert.equal(c.bytes, 48);
    c.push(Buffer.alloc(52));
    assert.throws(() => c.push('x'), /full: 3\/3/);
  });

  it('take empties it; putBack restores the order and the byte count', () => {
    const c = make(10, 1000);
    const a = Buffer.alloc(5, 1);
    c.push(a);
    c.push('p.png');
    const taken = c.take();
    assert.equal(c.length, 0);
    assert.equal(c.bytes, 0);
    c.push('later.png');
    c.putBack(taken);
    assert.deepEqual(c.take(), [a, 'p.png', 'later.png']);
  });

  it('reads padimFitMaxCollected over the defaults and refuses anything else', () => {
    assert.deepEqual(collectLimits(undefined), DEFAULT_COLLECT_LIMITS);
    assert.deepEqual(collectLimits({ images: 50 }), { images: 50, bytes: DEFAULT_COLLECT_LIMITS.bytes });
    assert.deepEqual(collectLimits({ bytes: 1e6 }), { images: DEFAULT_COLLECT_LIMITS.images, bytes: 1e6 });
    for (const bad of [null, 5, 'x', { images: 0 }, { bytes: NaN }, { images: '10' }])
      assert.throws(() => collectLimits(bad), /padimFitMaxCollected .* must be/);
  });
});
