/**
 * The synthetic generators' pixels, pinned: sha-256 of textures, defects (image and mask), placed
 * parts and written data sets, computed before src/synthetic/ was split into modules. Tests,
 * benches and BENCHMARKS.md figures all rest on these images, so any change to a shader, a
 * defect drawer, a seed derivation or the PRNG shows here first. Data sets are hashed by their
 * decoded pixels (PNG is lossless), not their file bytes, which depend on the zlib build.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import {
  addDefect,
  generateTexture,
  placedPart,
  writePlacedDataset,
  writeSyntheticDataset,
  type DefectKind,
} from '../src/synthetic';
import { tempDir } from './helpers';

const ALL_DEFECTS: DefectKind[] = ['scratch', 'spot', 'missing', 'colour', 'crack', 'fleck'];

/** generateTexture(kind, 67, 45, -12345678901, { channels }), by `kind channels`. */
const TEXTURE: Record<string, string> = {
  'woven 3': 'c59cdb4bd2ab0c11b8c5c6710a49eaf3f8952fcec7f0175fbcd0af2b00b00c34',
  'woven 1': 'fd0ed7b29aca2a859bab3d6f0d2de1a239f7120c79ffbaf888c2f285d14b453e',
  'brushed 3': 'c00486362cfcd0857249a8fe9493f0fe786353bfbb7d9837f117cce0ed2a5bce',
  'brushed 1': 'b398b8085a599e417c4232ec5d8ff1bd4a338620fade8ecc0332d6a1eedf826e',
  'grain 3': '1a2879ed27f16e8d3022b7bfcbfe44ddd75ec9cf8e71aefdf97d873dfa316e04',
  'grain 1': '19c5e6520450adfd22435af9c64a46f1c78e377bc2b5e6cd6be5dfa5c11e0bbc',
  'tiles 3': 'dc124d949111e35c7cf6457f73f590126d504c13eb252da45191d3e0b2e2c8a7',
  'tiles 1': 'cfd13d694651a87dd56c898986d842e3029fa8aa405742a4007e0ab82df1f6ac',
};

/** addDefect(generateTexture('grain', 80, 56, 4, { channels }), defect, 2.5e9 + 17), by `defect channels`. */
const DEFECT: Record<string, string> = {
  'scratch 3': '1ddbd8f39fbe29ed758114a77756edc849a3b427d8bbc5b63b9c216eabadb045',
  'scratch 1': '80efbf86e771f50703475085799f2f3d12fa32b1a10e52ee365d8c4ea9b0e183',
  'spot 3': '2d5ba8a5421d1a994f03d861b6565e942bb88cb6c646b821238ed883b1b2da12',
  'spot 1': '441d07173f39c09bbdad46be15a3e4ac165531677adc7fa7630f1691e22cf4f0',
  'missing 3': 'fd8c7f970e946697d3454e0a493d390e17b3995b8847a8a74eb27d1b49a86498',
  'missing 1': '749bee91b0be7c9b1acaa25f0c383b5990298c8cfb465099abf3c182c3f684bb',
  'colour 3': '5548fde6e3c002e9fe0e5f79e857e43509ef23ac54a2b121a20e4503fd70b3c2',
  'colour 1': 'a69e8bf4a46d1b631e18c1a9459b73c71d9014c3d9ba7901634ce66fb36a8553',
  'crack 3': '533bf740473d82030dd8cedb64f5c976a10fb04c2dba4d9ec5a20a09f6608e4e',
  'crack 1': '663a64cb80e780d4c841d5006d724057c1ee1bd7bec12897c5b752917ff1baed',
  'fleck 3': 'd762edd48052b02311d8fff6b3e83ca00d8bdd62a9142a2c470a4986ddf8b38e',
  'fleck 1': '634689db82e8359e95f6f72f6834ac67f7aeca005de0bb2af850fcbd7123c258',
};

/** addDefect(generateTexture('woven', 5, 4, 1), defect, 3): defects on an image smaller than they are. */
const TINY: Record<string, string> = {
  scratch: '35c306824df1073b2f6fa2a495788a4859afe5cc78a8103fbd7e3bf541bbea47',
  spot: 'c000cfff11fbed38b98c09595e635cbbfd4ee75e06d9f83650adb07c9165f0db',
  missing: 'e7029519906acf654ae0bca8ccea3bc0ce9c35b9d40f576ddc4d5d88fa36bc17',
  colour: 'b213a3d9e464f639ec47b5fccdb035c22d5e8518a979bfe0a629a7eec0b9173d',
  crack: 'd6fe599e165acc4ca52fba6f9c4cb3d6250a18d313653ebfc112a228df8cde45',
  fleck: 'dcd1391f05d0970bd8baa48641bbdbf7aba784f1932ae30bce900682edcce6a7',
};

const PLACED_PART = 'a9eadb14efb1d50a7ab6ffb616c3faef7d82a674d7baf4eb510b069f586512f3';
const DATASET = '3a69ad5b24c1a896bb530a198d71c8eb3d96f3775d3bc4da3c289fe5fec87a06';
const PLACED_DATASET = '2e05a9a08ccdb86dfea33e3592ecfab3282b321baf463a2c93fd485fc27f5aa1';

function sha256(...parts: (Uint8Array | string)[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  return hash.digest('hex');
}

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Hash of every file's relative path and decoded pixels, in sorted path order. */
async function datasetHash(dir: string, extra = ''): Promise<string> {
  const hash = createHash('sha256');
  for (const rel of filesUnder(dir)
    .map((f) => path.relative(dir, f))
    .sort()) {
    hash.update(rel);
    hash.update(await sharp(path.join(dir, rel)).raw().toBuffer());
  }
  hash.update(extra);
  return hash.digest('hex');
}

function pixels(image: { data: ArrayLike<number> }): Uint8Array {
  assert.ok(image.data instanceof Uint8Array);
  return image.data;
}

describe('synthetic pixels are pinned', () => {
  it('textures', () => {
    for (const kind of ['woven', 'brushed', 'grain', 'tiles'] as const)
      for (const channels of [3, 1] as const)
        assert.equal(
          sha256(pixels(generateTexture(kind, 67, 45, -12345678901, { channels }))),
          TEXTURE[`${kind} ${channels}`],
          `${kind} ${channels}`,
        );
  });

  it('defects, image and mask', () => {
    for (const defect of ALL_DEFECTS)
      for (const channels of [3, 1] as const) {
        const { image, mask } = addDefect(
          generateTexture('grain', 80, 56, 4, { channels }),
          defect,
          2.5e9 + 17,
        );
        assert.equal(sha256(pixels(image), mask), DEFECT[`${defect} ${channels}`], `${defect} ${channels}`);
      }
    for (const defect of ALL_DEFECTS) {
      const { image, mask } = addDefect(generateTexture('woven', 5, 4, 1), defect, 3);
      assert.equal(sha256(pixels(image), mask), TINY[defect], `tiny ${defect}`);
    }
  });

  it('a placed part with a printed code and a defect', () => {
    const part = placedPart(3, { size: 96, code: { x: 4, y: 30, width: 40, height: 10 } }, 'scratch');
    assert.equal(sha256(pixels(part.image), part.mask, JSON.stringify(part.placement)), PLACED_PART);
  });

  it('written data sets (decoded pixels of every file)', async () => {
    const dir = tempDir('padim-synth-pin-');
    try {
      const a = path.join(dir, 'mvtec');
      await writeSyntheticDataset(a, {
        texture: 'tiles',
        width: 48,
        height: 40,
        trainCount: 2,
        testGoodCount: 1,
        testDefectCount: 1,
        defects: ALL_DEFECTS,
        seed: 9,
      });
      assert.equal(await datasetHash(a), DATASET);
      const b = path.join(dir, 'placed');
      const placements = await writePlacedDataset(b, {
        size: 64,
        trainCount: 2,
        testGoodCount: 1,
        testDefectCount: 1,
        seed: 2,
      });
      assert.equal(await datasetHash(b, JSON.stringify(placements)), PLACED_DATASET);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
