/**
 * The pass over the training images: decode, align, backbone, embed, and add to the per-cell
 * sums, one batch at a time. Nothing per image is kept except the embeddings of the last
 * images, which calibrate the threshold when no second pass is asked for.
 */
import type { AlignedImage } from '../alignment/aligner';
import { batches } from '../math/batches';
import { DEFAULTS } from '../options';
import type { FeatureMap, PreparedImage } from '../types';
import { embedBatch, extractFeatures } from './extractor';
import { throwIfCancelled, warn, type FitSession } from './fit-session';
import { inputProtocol, type InputPlan } from './input-plan';
import { fittedCells, type ModelLayout } from './model-layout';

/** The most recent training images (across batches), kept for the cheap calibration. */
export interface CalibrationSample {
  /** their fitted-cell embeddings */
  embeddings: Float32Array[];
  /** their input sizes, which their anomaly maps are brought to */
  sizes: { width: number; height: number }[];
}

/** Aligns one training image, counting those that stay unaligned. */
function alignTraining(
  plan: InputPlan,
  unaligned: { count: number },
): ((p: PreparedImage) => AlignedImage) | undefined {
  const aligner = plan.aligner;
  if (!aligner) return undefined;
  return (p) => {
    const a = aligner.align(p);
    if (!a.outcome.applied) unaligned.count += 1;
    return a;
  };
}

/**
 * Embeds every image of the session into the layout's accumulator. The layout is asked for once
 * the first batch gives the backbone's stage shapes (a new fit lays the model out from them).
 */
export async function accumulateImages(pass: {
  session: FitSession;
  plan: InputPlan;
  layoutFor: (firstStages: FeatureMap[]) => ModelLayout;
}): Promise<{ layout: ModelLayout; sample: CalibrationSample }> {
  const { session, plan } = pass;
  const { images, opts } = session;
  const protocol = inputProtocol(plan, opts.maxPixels);
  const unaligned = { count: 0 };
  const align = alignTraining(plan, unaligned);
  const sample: CalibrationSample = { embeddings: [], sizes: [] };
  let layout: ModelLayout | undefined;
  let done = 0;
  let decodeMs = 0;
  let backboneMs = 0;
  for (const batch of batches(images, opts.batchSize ?? DEFAULTS.batchSize)) {
    throwIfCancelled(session);
    const extracted = await extractFeatures(session.backbone, batch, protocol, align);
    decodeMs += extracted.decodeMs;
    backboneMs += extracted.backboneMs;
    layout ??= pass.layoutFor(extracted.features[0]);
    const embeddings = fittedCells(layout, await embedBatch(layout.embedder, extracted));
    await layout.accumulator.add(embeddings);
    // keep the most recent images (across batches) for calibration
    sample.embeddings = [...sample.embeddings, ...embeddings].slice(-DEFAULTS.calibrationImages);
    const sizes = extracted.prepared.map(({ width, height }) => ({ width, height }));
    sample.sizes = [...sample.sizes, ...sizes].slice(-DEFAULTS.calibrationImages);
    done += batch.length;
    opts.onProgress?.({ phase: 'embed', done, total: images.length, decodeMs, backboneMs });
  }
  if (!layout) throw new Error('no images to embed');
  if (unaligned.count > 0) {
    warn(
      session,
      `${unaligned.count} of ${images.length} training images could not be aligned and were used unaligned`,
    );
  }
  return { layout, sample };
}
