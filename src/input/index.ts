/**
 * The model's input size: size text and the size protocol's rules (size-text.ts), and size
 * `auto` resolved from the training images and the backbone's strides (input-size.ts).
 *
 * May import: ../types, ../math/, ../image/ and the Backbone type. size-text.ts imports only
 * ../types, because image/ checks size protocols with it: image/ imports it directly, never
 * this index.
 */
export {
  DEFAULT_AUTO_SHORT,
  describeSize,
  MAX_INPUT_SIDE,
  parseSize,
  parseSizeChoice,
  SizeSpecError,
  validateSizeProtocol,
  type AutoSize,
  type SizeChoice,
  type SizeTextStyle,
} from './size-text';
export {
  aspectMismatch,
  ASPECT_TOLERANCE,
  DEFAULT_MAX_CELLS,
  measureStrides,
  resolveAutoSize,
  resolveFitSize,
  type AutoSizeRecord,
  type BackboneStrides,
  type ResolvedSize,
} from './input-size';
