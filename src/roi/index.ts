/** Regions of interest: which part of the image is fitted and scored (see roi.ts). */
export { readRoiFile } from './file';
export { insideCells, rasterise, unionMask, type InputMasks } from './raster';
export {
  decodeRuns,
  encodeRuns,
  makeRoiRecord,
  recordMasks,
  roiRecordProblem,
  type RoiRecord,
} from './record';
export { maskAsMap, outlineOf, Roi, type RegionScore } from './roi';
export { maskSpec, parseRoiJson, RoiError, type RegionSpec, type RoiSpec, type Shape } from './spec';
