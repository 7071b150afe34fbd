/**
 * The padim-model configuration node's fields (text from the editor) turned into core options,
 * with an error message per field that a user can act on.
 */
import * as path from 'node:path';
import { ALIGN_MODES, type AlignMode } from '../alignment/reference';
import { parseLayers } from '../backbone/layers';
import { DEFAULTS, type FitOptions } from '../options';
import { parseSizeChoice } from '../input';
import { DEFAULT_PROVIDER, PROVIDERS, type ProviderName } from '../types';
import type { ScoringOptions } from './model-registry';
import { SupportError } from './errors';

/** The fields as the editor stores them (strings, or numbers for old flows). */
export interface ModelFields {
  path?: string;
  backbone?: string;
  layers?: string;
  dims?: string | number;
  size?: string;
  crop?: string | number;
  provider?: string;
  threads?: string | number;
  /** off, translate or rigid; absent in nodes saved before the setting existed (off) */
  align?: string;
  /** a region-of-interest file (mask image or JSON), relative to the user directory; '' none */
  roi?: string;
}

export interface ModelSettings {
  /** absolute path of the model file */
  path: string;
  /** backbone, layers, dims, size, provider, threads: what fitModel needs besides images */
  fit: FitOptions;
  /** what Scorer.open needs, and what the model file must have been fitted for */
  scorer: ScoringOptions;
}

/** The three stage names of the dialog's layers text; a coded error (translated by the node) otherwise. */
function layersOf(text: string): [string, string, string] {
  try {
    return parseLayers(text);
  } catch {
    throw new SupportError('model.layers', { value: text });
  }
}

function optionalInteger(name: string, v: string | number | undefined, min: number): number | undefined {
  if (v === undefined || v === null || String(v).trim() === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new SupportError('model.integer', { name, min, value: String(v) });
  return n;
}

/** Turns a file path as typed into the one to open; `what` names it in error messages. */
export type PathResolver = (typed: string, what: string) => string;

/**
 * Parses the fields. A relative model path is taken from `baseDir` (Node-RED's user
 * directory), so a flow moved to another machine keeps working. `resolvePath` may check the
 * model and backbone files too (the allow-list: it receives the text as typed, so links are
 * followed before `..`, and returns the path to open).
 */
export function parseModelSettings(
  fields: ModelFields,
  baseDir: string,
  resolvePath: PathResolver = (typed) => path.resolve(baseDir, typed),
): ModelSettings {
  const file = (fields.path ?? '').trim();
  if (!file) throw new SupportError('model.noPath', {});
  const backbone = (fields.backbone ?? '').trim() || DEFAULTS.backbone;
  const layerText = (fields.layers ?? '').trim();
  const layers = layerText ? layersOf(layerText) : undefined;
  const provider = ((fields.provider ?? '').trim() || DEFAULT_PROVIDER) as ProviderName;
  if (!PROVIDERS.includes(provider)) {
    throw new SupportError('model.provider', {
      providers: PROVIDERS.join(', '),
      value: String(fields.provider),
    });
  }
  const threads = optionalInteger('threads', fields.threads, 0) || undefined;
  const dims = optionalInteger('dims', fields.dims, 1);
  // empty: the default, auto (an old flow keeps the explicit size it stored, e.g. 256x256)
  const size = parseSizeChoice(fields.size, fields.crop);
  // a backbone path is relative to the user directory too; names (presets, builtin:) stay as they are
  const backboneSpec = backbone.endsWith('.onnx') ? resolvePath(backbone, 'backbone file') : backbone;
  const align = (fields.align ?? '').trim() || DEFAULTS.align;
  if (!(ALIGN_MODES as readonly string[]).includes(align))
    throw new SupportError('model.align', { modes: ALIGN_MODES.join(', '), value: String(fields.align) });
  const roiText = (fields.roi ?? '').trim();
  // the fit reads the region file; scoring takes the regions stored in the model
  const roi = roiText ? resolvePath(roiText, 'region file') : undefined;
  return {
    path: resolvePath(file, 'model file'),
    fit: {
      backbone: backboneSpec,
      layers,
      dims,
      size,
      provider,
      threads,
      align: align as AlignMode,
      ...(roi ? { roi } : {}),
    },
    scorer: { provider, threads },
  };
}
