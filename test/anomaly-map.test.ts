import assert from 'node:assert/strict';
import {
  defaultKernelSize,
  gaussianBlur,
  gaussianKernel1d,
  makeAnomalyMap,
  mapToOriginal,
  reflectIndex,
  upsampleBilinear,
} from '../src/padim/anomaly-map';
import type { InputGeometry } from '../src/types';

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol = 1e-6,
  what = 'value',
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      assert.fail(`${what} ${i}: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

describe('anomaly-map', () => {
  describe('upsampleBilinear (align_corners=False)', () => {
    it('2x2 -> 4x4 matches the PyTorch values', () => {
      const out = upsampleBilinear(
        { data: new Float32Array([0, 1, 2, 3]), height: 2, width: 2 },
        { height: 4, width: 4 },
      );
      // F.interpolate(tensor([[0., 1.], [2., 3.]])[None, None], size=4, mode='bilinear', align_corners=False)
      // prettier-ignore
      assertClose(out, [
        0.0, 0.25, 0.75, 1.0,
        0.5, 0.75, 1.25, 1.5,
        1.5, 1.75, 2.25, 2.5,
        2.0, 2.25, 2.75, 3.0,
      ]);
    });

    it('non-integer ratio 1x3 -> 1x5, with edge clamping', () => {
      // src = (d + 0.5) * 0.6 - 0.5 = -0.2 (->0), 0.4, 1.0, 1.6, 2.2 (-> clamped to the last sample)
      const out = upsampleBilinear(
        { data: new Float32Array([0, 10, 40]), height: 1, width: 3 },
        { height: 1, width: 5 },
      );
      assertClose(out, [0, 4, 10, 28, 40], 1e-5);
    });

    it('non-square output; constant stays constant; same size is the identity', () => {
      const out = upsampleBilinear(
        { data: new Float32Array(6).fill(2.5), height: 2, width: 3 },
        { height: 7, width: 11 },
      );
      assert.equal(out.length, 77);
      assertClose(out, new Float32Array(77).fill(2.5));
      const grid = Float32Array.from({ length: 12 }, (_, i) => i * i);
      assertClose(upsampleBilinear({ data: grid, height: 3, width: 4 }, { height: 3, width: 4 }), grid);
    });

    it('rejects inconsistent sizes', () => {
      assert.throws(
        () => upsampleBilinear({ data: new Float32Array(5), height: 2, width: 3 }, { height: 4, width: 4 }),
        /5 values, expected 2x3/,
      );
      assert.throws(
        () => upsampleBilinear({ data: new Float32Array(6), height: 2, width: 3 }, { height: 0, width: 4 }),
        RangeError,
      );
    });
  });

  describe('gaussianBlur', () => {
    it('kernel: 33 taps for sigma 4, normalised, Gaussian shape', () => {
      assert.equal(defaultKernelSize(4), 33);
      const k = gaussianKernel1d(4, 33);
      assert.ok(Math.abs(sum(k) - 1) < 1e-6);
      let z = 0;
      for (let x = -16; x <= 16; x++) z += Math.exp(-(x * x) / 32);
      for (let x = -16; x <= 16; x++) assert.ok(Math.abs(k[x + 16] - Math.exp(-(x * x) / 32) / z) < 1e-7);
    });

    it('reflect mirrors without repeating the edge (torch/kornia reflect, scipy mirror)', () => {
      assert.deepEqual(
        [-3, -2, -1, 0, 4, 5, 6, 7].map((i) => reflectIndex(i, 5)),
        [3, 2, 1, 0, 4, 3, 2, 1],
      );
      assert.equal(reflectIndex(-9, 5), 1); // wider than the axis: keeps mirroring
      assert.equal(reflectIndex(-3, 1), 0);
      // 1 x 5 row, 3 taps: out[0] = k0*x[1] + k1*x[0] + k2*x[1]
      const k = gaussianKernel1d(1, 3);
      const row = new Float32Array([1, 2, 4, 8, 16]);
      const out = gaussianBlur({ data: row, height: 1, width: 5 }, 1, 3);
      assertClose(
        out,
        [
          k[0] * 2 + k[1] * 1 + k[2] * 2,
          k[0] * 1 + k[1] * 2 + k[2] * 4,
          k[0] * 2 + k[1] * 4 + k[2] * 8,
          k[0] * 4 + k[1] * 8 + k[2] * 16,
          k[0] * 8 + k[1] * 16 + k[2] * 8,
        ],
        1e-5,
      );
      // Same along the vertical axis.
      assertClose(gaussianBlur({ data: row, height: 5, width: 1 }, 1, 3), out, 1e-5);
    });

    it('blur of a constant is the constant, also for maps smaller than the kernel', () => {
      for (const [h, w] of [
        [40, 50],
        [5, 7],
        [1, 1],
      ]) {
        const out = gaussianBlur({ data: new Float32Array(h * w).fill(3.25), height: h, width: w });
        assertClose(out, new Float32Array(h * w).fill(3.25), 1e-5, `${h}x${w}`);
      }
    });

    it('blur of a delta is the normalised 2-D kernel and preserves the sum away from borders', () => {
      const n = 65;
      const map = new Float32Array(n * n);
      const c = 32;
      map[c * n + c] = 1;
      const out = gaussianBlur({ data: map, height: n, width: n });
      const k = gaussianKernel1d(4, 33);
      const expected = new Float32Array(n * n);
      for (let y = 0; y < 33; y++) for (let x = 0; x < 33; x++) expected[(y + 16) * n + x + 16] = k[y] * k[x];
      assertClose(out, expected, 1e-7);
      assert.ok(Math.abs(sum(out) - 1) < 1e-5);

      // Random interior content (>= 16 px from every border) keeps its total mass.
      const m = new Float32Array(100 * 120);
      for (let y = 20; y < 80; y++)
        for (let x = 20; x < 100; x++) m[y * 120 + x] = Math.sin(x * 0.7 + y) + 1.5;
      assert.ok(Math.abs(sum(gaussianBlur({ data: m, height: 100, width: 120 })) - sum(m)) < 1e-3 * sum(m));
    });

    it('rejects even kernel sizes and bad sigma', () => {
      assert.throws(() => gaussianBlur({ data: new Float32Array(4), height: 2, width: 2 }, 4, 32), /odd/);
      assert.throws(() => gaussianBlur({ data: new Float32Array(4), height: 2, width: 2 }, 0), /sigma/);
    });

    it('256x256 upsample + 33-tap blur takes a few ms', () => {
      const grid = Float32Array.from({ length: 64 * 64 }, (_, i) => Math.sin(i));
      for (let i = 0; i < 3; i++)
        makeAnomalyMap({ data: grid, height: 64, width: 64 }, { height: 256, width: 256 }); // warm up the JIT
      const runs = 10;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < runs; i++)
        makeAnomalyMap({ data: grid, height: 64, width: 64 }, { height: 256, width: 256 });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6 / runs;
      // Generous bound so slow CI machines pass; typically 2-4 ms.
      assert.ok(ms < 50, `${ms.toFixed(2)} ms per map`);
    });
  });

  describe('makeAnomalyMap', () => {
    it('upsamples, blurs and scores with the maximum', () => {
      const grid = new Float32Array(8 * 8);
      grid[3 * 8 + 5] = 10;
      const { map, score } = makeAnomalyMap({ data: grid, height: 8, width: 8 }, { height: 64, width: 48 });
      assert.equal(map.width, 48);
      assert.equal(map.height, 64);
      const expected = gaussianBlur({
        data: upsampleBilinear({ data: grid, height: 8, width: 8 }, { height: 64, width: 48 }),
        height: 64,
        width: 48,
      });
      assert.deepEqual(map.data, expected);
      assert.equal(score, Math.max(...expected));
      assert.ok(score > 0 && score < 10);
      // sigma 0: no smoothing; same-size output keeps the peak.
      assert.equal(
        makeAnomalyMap({ data: grid, height: 8, width: 8 }, { height: 8, width: 8 }, { sigma: 0 }).score,
        10,
      );
      assert.deepEqual(
        makeAnomalyMap({ data: grid, height: 8, width: 8 }, { height: 64, width: 48 }, { sigma: 0 }).map.data,
        upsampleBilinear({ data: grid, height: 8, width: 8 }, { height: 64, width: 48 }),
      );
    });
  });

  describe('mapToOriginal', () => {
    it('resize geometry: bilinear back to the original size', () => {
      // 2x2 input map shown on a 4x4 original: same numbers as the upsampling case.
      const geometry: InputGeometry = {
        originalWidth: 4,
        originalHeight: 4,
        left: 0,
        top: 0,
        scaleX: 2,
        scaleY: 2,
      };
      const out = mapToOriginal({ data: new Float32Array([0, 1, 2, 3]), width: 2, height: 2 }, geometry);
      assert.equal(out.width, 4);
      assert.equal(out.height, 4);
      assertClose(
        out.data,
        upsampleBilinear(
          { data: new Float32Array([0, 1, 2, 3]), height: 2, width: 2 },
          { height: 4, width: 4 },
        ),
      );
      // Non-square scales: equals upsampleBilinear to the original size.
      const map = Float32Array.from({ length: 6 * 5 }, (_, i) => (i * 37) % 11);
      const g2: InputGeometry = {
        originalWidth: 13,
        originalHeight: 9,
        left: 0,
        top: 0,
        scaleX: 13 / 5,
        scaleY: 9 / 6,
      };
      assertClose(
        mapToOriginal({ data: map, width: 5, height: 6 }, g2).data,
        upsampleBilinear({ data: map, height: 6, width: 5 }, { height: 9, width: 13 }),
        1e-5,
      );
    });

    it('resize-crop geometry: fill outside the crop, interpolation inside', () => {
      // Original 12 x 8 -> resized 6 x 4 (scale 2) -> centre crop 4 x 4 at left 1: left = 2 original px.
      const geometry: InputGeometry = {
        originalWidth: 12,
        originalHeight: 8,
        left: 2,
        top: 0,
        scaleX: 2,
        scaleY: 2,
      };
      const map = new Float32Array(16);
      for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) map[y * 4 + x] = x; // value = input column
      const out = mapToOriginal({ data: map, width: 4, height: 4 }, geometry, -1);
      assert.equal(out.width, 12);
      assert.equal(out.height, 8);
      for (let y = 0; y < 8; y++) {
        for (let X = 0; X < 12; X++) {
          const v = out.data[y * 12 + X];
          if (X < 2 || X >= 10) {
            assert.equal(v, -1, `X=${X} is outside the crop`);
          } else {
            // centre X + 0.5 -> input u = (X + 0.5 - 2) / 2; sample position u - 0.5, clamped to [0, 3]
            const expected = Math.min(Math.max((X - 2.5) / 2, 0), 3);
            assert.ok(Math.abs(v - expected) < 1e-6, `X=${X}: ${v} vs ${expected}`);
          }
        }
      }
    });

    it('crop in both axes with fractional offsets', () => {
      const geometry: InputGeometry = {
        originalWidth: 10,
        originalHeight: 10,
        left: 2.5,
        top: 1.5,
        scaleX: 1,
        scaleY: 1,
      };
      const out = mapToOriginal({ data: new Float32Array(5 * 6).fill(7), width: 5, height: 6 }, geometry);
      for (let y = 0; y < 10; y++) {
        for (let x = 0; x < 10; x++) {
          // covered: x + 0.5 in [2.5, 7.5], y + 0.5 in [1.5, 7.5]
          const inside = x >= 2 && x <= 7 && y >= 1 && y <= 7;
          assert.equal(out.data[y * 10 + x], inside ? 7 : 0, `(${x}, ${y})`);
        }
      }
    });
  });
});
