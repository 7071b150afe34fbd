/**
 * Deterministic synthetic "parts": textured images with drawn-in defects and exact masks, and
 * parts placed on a background with a random shift and turn. Test and demo data, not the
 * product's API: the package entry point (src/index.ts) does not export it. The tests, the
 * offline demo (`padim demo`, `npm start`), the benches and the small evaluation table in
 * BENCHMARKS.md import it from here.
 *
 * Why it exists: those callers all need realistic-looking inspection data without downloading a
 * data set. Everything here is a pure function of a seed (no Math.random, no clock), so the same
 * seed gives the same bytes on every machine and every run (test/synthetic-pixels.test.ts pins
 * them). A "kind" fixes what the part looks like (period, orientation, colours); the seed only
 * draws the sample-to-sample variation a camera would see on a line (small shifts, thread/tile
 * jitter, sensor noise, lighting). A model therefore has to learn a distribution, while every
 * sample stays recognisably the same part.
 *
 * What it owns, one module each: the kinds (kinds.ts), seeds and draws (randomness.ts), value
 * noise (noise.ts), texture shaders and their rendering (shaders.ts, textures.ts), the defect
 * canvas, shapes and drawers (canvas.ts, shapes.ts, defect-drawers.ts, defects.ts), image files
 * (image-file.ts), the MVTec AD data set writer (dataset-writer.ts) and placed parts (placed.ts).
 *
 * What it may import: the seeded PRNG (src/math/random.ts), the image types (src/types.ts),
 * Node's fs/path and sharp; nothing else of the core. Nothing in the core imports it; only
 * src/cli, src/bench, bench/ and test/ do. Modules inside the folder import each other directly,
 * never through this file (which would make a cycle).
 */
export { TEXTURE_KINDS, DEFECT_KINDS, EXTRA_DEFECT_KINDS, type TextureKind, type DefectKind } from './kinds';
export { generateTexture } from './textures';
export { addDefect } from './defects';
export {
  writeSyntheticDataset,
  type SyntheticDatasetOptions,
  type SyntheticDatasetCounts,
} from './dataset-writer';
export {
  placedPart,
  writePlacedDataset,
  type Placement,
  type PlacedPart,
  type PlacedPartOptions,
  type PlacedDatasetOptions,
} from './placed';
