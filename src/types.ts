/**
 * Data types shared across the core. Shapes are written as [dim, dim, ...] in
 * row-major order; "cells" always means grid height x grid width.
 */

/** Per-channel mean and standard deviation applied to RGB values scaled to [0, 1]. */
export interface Normalisation {
  mean: [number, number, number];
  std: [number, number, number];
}

/** ImageNet statistics, the default for every ImageNet-pretrained backbone. */
export const IMAGENET_NORMALISATION: Normalisation = {
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};

/**
 * How an image of any size becomes the network input.
 * - `resize`: squash to exactly width x height (anomalib's protocol, 256x256; `auto` in input-size.ts
 *   resolves to a resize that keeps the training images' aspect).
 * - `resize-crop`: scale so the shorter side is `resize`, then centre-crop width x height
 *   (the PaDiM paper: resize 256, crop 224).
 */
export type SizeProtocol =
  | { kind: 'resize'; width: number; height: number }
  | { kind: 'resize-crop'; resize: number; width: number; height: number };

/** A pixel buffer that is not an encoded file: interleaved channels, row-major. */
export interface RawImage {
  data: Uint8Array | Uint16Array | Float32Array;
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. Alpha is composited over black (opaque pixels unchanged). */
  channels: 1 | 2 | 3 | 4;
}

/** Anything the pre-processing accepts: encoded bytes, a file path, or raw pixels. */
export type ImageInput = Buffer | Uint8Array | string | RawImage;

/**
 * Where the network input sits in the original image, in original pixels:
 * input pixel (x, y) covers original pixels starting at (left + x * scaleX, top + y * scaleY).
 */
export interface InputGeometry {
  originalWidth: number;
  originalHeight: number;
  left: number;
  top: number;
  scaleX: number;
  scaleY: number;
}

/** A normalised CHW float32 image (3 x height x width) ready for the backbone. */
export interface PreparedImage {
  data: Float32Array;
  width: number;
  height: number;
  geometry: InputGeometry;
}

/** One backbone stage's activations for one image: CHW float32. */
export interface FeatureMap {
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
}

/** A single-channel float image (anomaly scores), row-major height x width. */
export interface ScoreMap {
  data: Float32Array;
  width: number;
  height: number;
}

/** Milliseconds spent in each stage for one result (batch stages are divided per image). */
export interface StageTimings {
  decodeMs: number;
  backboneMs: number;
  distanceMs: number;
  mapMs: number;
  totalMs: number;
}

/**
 * Execution providers onnxruntime-node can be asked for: the one list the CLI, the node settings
 * and the editor's choices (checked by test/nodes/editor-lists.test.ts) are taken from.
 */
export const PROVIDERS = ['cpu', 'webgpu', 'cuda', 'tensorrt'] as const;
export type ProviderName = (typeof PROVIDERS)[number];
/** The provider used when none is asked for. */
export const DEFAULT_PROVIDER: ProviderName = 'cpu';
