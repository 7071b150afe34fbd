/**
 * Images in, per-cell embeddings out: decoding and resizing (sharp), the backbone
 * (onnxruntime), and the channel reduction, with the time each stage took.
 */
import type { AlignedImage } from '../alignment/aligner';
import type { Backbone } from '../backbone/backbone';
import { Embedder } from './embedding';
import { batchToTensor, prepareImage } from '../image';
import type { FeatureMap, ImageInput, Normalisation, PreparedImage, SizeProtocol } from '../types';

export interface ExtractedBatch {
  prepared: PreparedImage[];
  /** per image, per stage */
  features: FeatureMap[][];
  decodeMs: number;
  backboneMs: number;
  /** per image, when the batch was aligned (`prepared` then holds the aligned inputs) */
  aligned?: AlignedImage[];
}

export interface InputProtocol {
  size: SizeProtocol;
  normalisation: Normalisation;
  maxPixels?: number;
}

function now(): number {
  return performance.now();
}

/** Decodes a batch and runs the backbone on it. */
export async function extractFeatures(
  backbone: Backbone,
  inputs: ImageInput[],
  protocol: InputProtocol,
  align?: (image: PreparedImage) => AlignedImage,
): Promise<ExtractedBatch> {
  const t0 = now();
  // sharp decodes on its own thread pool, so the images of a batch decode in parallel
  const decoded = await Promise.all(inputs.map((input) => prepareImage(input, protocol)));
  const aligned = align ? decoded.map(align) : undefined;
  const prepared = aligned ? aligned.map((a) => a.prepared) : decoded;
  const { width, height } = prepared[0];
  backbone.checkInputSize(width, height);
  const tensor = batchToTensor(prepared);
  const t1 = now();
  const features = await backbone.run(tensor, prepared.length, height, width);
  const t2 = now();
  return { prepared, features, decodeMs: t1 - t0, backboneMs: t2 - t1, ...(aligned ? { aligned } : {}) };
}

/** Embeds every image of an extracted batch: [cells, d] each. */
export async function embedBatch(embedder: Embedder, batch: ExtractedBatch): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const stages of batch.features) out.push(await embedder.embed(stages));
  return out;
}
