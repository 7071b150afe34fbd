/** Alignment of parts to a reference before scoring (see aligner.ts). */
export { Aligner, chooseReference, mapToObserved, type AlignedImage, type AlignmentOutcome } from './aligner';
export {
  ALIGN_MODES,
  alignmentRecordProblem,
  DEFAULT_MAX_SHIFT,
  DEFAULT_MIN_CONFIDENCE,
  type AlignMode,
  type AlignmentRecord,
} from './reference';
export { motionToAffine, warpPlanes, type RigidMotion } from './warp';
