/**
 * How every training image is brought in, decided before the first batch: the input size (an
 * `auto` choice resolved from the images), the alignment reference, and the regions of interest
 * at the input size. An update takes all three from the model header instead.
 */
import { Aligner, chooseReference } from '../alignment/aligner';
import { prepareImage } from '../image';
import { resolveFitSize, type AutoSizeRecord } from '../input/input-size';
import type { ModelHeader } from '../model/model';
import { DEFAULTS } from '../options';
import { rasterise, readRoiFile, type InputMasks } from '../roi';
import type { Normalisation, SizeProtocol } from '../types';
import type { InputProtocol } from './extractor';
import { warn, type FitSession } from './fit-session';

export interface InputPlan {
  /** the input size of every image (an `auto` choice resolved) */
  size: SizeProtocol;
  normalisation: Normalisation;
  /** present when the size was chosen by `auto` (kept in the header) */
  autoSize?: AutoSizeRecord;
  /** present when training images are aligned to a reference */
  aligner?: Aligner;
}

/** The regions at the input size, until the grid is known (model-layout.ts makes the cells). */
export interface RoiMasks {
  masks: InputMasks;
  /** the size of the image the regions were drawn on */
  source: { width: number; height: number };
}

/** Training images looked at when choosing the alignment reference. */
const REFERENCE_CANDIDATES = 16;

/** How extractFeatures decodes the images of this plan. */
export function inputProtocol(plan: InputPlan, maxPixels: number | undefined): InputProtocol {
  return { size: plan.size, normalisation: plan.normalisation, maxPixels };
}

/** Decides the input size: explicit sizes as given, `auto` from the training images. */
async function chooseSize(session: FitSession): Promise<Pick<InputPlan, 'size' | 'autoSize'>> {
  const opts = session.opts;
  const choice = opts.size ?? DEFAULTS.size;
  if (choice.kind !== 'auto') return { size: choice };
  const resolved = await resolveFitSize(choice, session.images, session.backbone, opts.maxPixels);
  for (const w of resolved.warnings) warn(session, w);
  return { size: resolved.size, autoSize: resolved.record };
}

/**
 * Picks the alignment reference among the first training images (the one closest to their
 * mean thumbnail) and sets up the aligner every training image then goes through.
 */
async function chooseAlignment(session: FitSession, protocol: InputProtocol): Promise<Aligner | undefined> {
  const mode = session.opts.align ?? DEFAULTS.align;
  if (mode === 'off') return undefined;
  const candidates = await Promise.all(
    session.images.slice(0, REFERENCE_CANDIDATES).map((img) => prepareImage(img, protocol)),
  );
  const index = chooseReference(candidates);
  return new Aligner(Aligner.record(candidates[index], mode, index));
}

/**
 * Reads the regions and brings them to the input size through the reference image's geometry
 * (the alignment reference, or the first training image): the cells follow once the grid is known.
 */
async function chooseRoi(
  session: FitSession,
  plan: InputPlan,
  protocol: InputProtocol,
): Promise<RoiMasks | undefined> {
  const opts = session.opts;
  if (opts.roi === undefined) return undefined;
  const spec = typeof opts.roi === 'string' ? await readRoiFile(opts.roi, opts.maxPixels) : opts.roi;
  const reference = await prepareImage(session.images[plan.aligner?.record.referenceIndex ?? 0], protocol);
  const masks = rasterise(spec, reference.geometry, reference.width, reference.height);
  return { masks, source: { width: spec.width, height: spec.height } };
}

/** A new fit's plan: size, then alignment reference, then regions (each needs the one before). */
export async function planFitInput(session: FitSession): Promise<{ plan: InputPlan; roiMasks?: RoiMasks }> {
  const sized = await chooseSize(session);
  const normalisation = session.opts.normalisation ?? DEFAULTS.normalisation;
  const protocol = { size: sized.size, normalisation, maxPixels: session.opts.maxPixels };
  const aligner = await chooseAlignment(session, protocol);
  const plan: InputPlan = { ...sized, normalisation, ...(aligner ? { aligner } : {}) };
  const roiMasks = await chooseRoi(session, plan, protocol);
  return roiMasks ? { plan, roiMasks } : { plan };
}

/** An update's plan: the model's size, normalisation and alignment reference. */
export function planUpdateInput(header: ModelHeader): InputPlan {
  return {
    size: header.input.size,
    normalisation: header.input.normalisation,
    ...(header.alignment ? { aligner: new Aligner(header.alignment) } : {}),
  };
}
