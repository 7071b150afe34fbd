/**
 * What src/node-support refuses, as errors with a stable `code` and the values the text names
 * (`data`), so a node can show them in its user's language.
 *
 * The texts speak of messages and settings as a flow's author sees them (msg.payload,
 * padimAllowedPaths), but this module knows nothing of Node-RED: `message` is the English text
 * (for logs and tests), filled from the template below. The nodes look the code up in their
 * message catalogue (`padim-model.support.<code>` in locales/<lang>/padim-model.json, whose
 * en-US text is this template, checked by test/nodes/locales-support.test.ts) and fall back to
 * `message` when a catalogue lacks it.
 */

/** English templates by code; `__name__` is filled from the error's data (Node-RED's syntax). */
export const SUPPORT_MESSAGES = {
  // image-input.ts
  'payload.emptyBuffer': 'msg.payload is an empty Buffer',
  'payload.emptyString': 'msg.payload is an empty string',
  'payload.dataUrlNotImage':
    'msg.payload is a data URL, but not of an image (PNG, JPEG, BMP, TIFF, WebP, GIF)',
  'payload.base64NotImage':
    'msg.payload is base64 text, but not of an image (PNG, JPEG, BMP, TIFF, WebP, GIF)',
  'payload.folder': 'msg.payload is a folder, not an image file: __path__',
  'payload.unknownText':
    'msg.payload is text that is neither an existing image file, a data URL nor base64: __text__',
  'payload.notImage':
    'msg.payload must be an image (Buffer, file path, data URL, base64 text, or raw pixels { data, width, height, channels }); it is __kind__',
  // path-policy.ts (`what` is a PathKind)
  'path.allowListSetting':
    "padimAllowedPaths must be a list of directories (text), e.g. ['/data/images'], got __value__",
  'path.unusable': 'the __what__ is not a usable path: __path__',
  'path.outside':
    "the __what__ __path__ is outside the directories allowed by padimAllowedPaths in Node-RED's settings (__allowed__)",
  // collected-images.ts, image limits
  'settings.maxCollected':
    "padimFitMaxCollected in Node-RED's settings must be { images, bytes } with numbers >= 1, got __value__",
  'settings.maxPixels': "padimMaxPixels in Node-RED's settings must be a number >= 1, got __value__",
  // folder-images.ts
  'folder.unclosedBrace': 'unclosed { in the file filter __glob__',
  'folder.missing': 'no such folder: __path__',
  'folder.notFolder': 'not a folder: __path__',
  // bounded-queue.ts
  'queue.size': 'queue size must be a whole number of at least 1, got __value__',
  'queue.policy': 'queue policy must be one of __policies__, got __value__',
  // archive-message.ts
  'archive.noResult': 'msg.result is missing: connect this node after padim-threshold',
  // defect-folder.ts
  'defect.imageGone': 'the image __path__ is no longer there (or not a file)',
  'defect.folderFull': 'the defect folder __folder__ already holds 999 files named __name__: clear it',
  // decision.ts
  'decision.notANumber': '__name__ must be a number, got __value__',
  'decision.mode': 'threshold mode must be one of __modes__, got __mode__',
  'decision.value': 'the __mode__ threshold must be a number above 0, got __value__',
  'decision.debounce': 'debounce must be a whole number of at least 1, got __value__',
  'decision.hysteresis': 'hysteresis must be at least 0 and below 1, got __value__',
  // rate-threshold.ts
  'rate.range': 'the false-alarm rate must be above 0% and below 100%, got __percent__%',
  'rate.noCalibration':
    'msg.padim.calibration is missing: the model holds no calibration scores (fit it again)',
  // region-decision.ts
  'region.areaPercent': "minimum area '__text__' must be above 0% and at most 100%",
  'region.areaPixels':
    "minimum area '__text__' must be a whole number of pixels (or a percentage such as 0.5%)",
  'region.threshold': "region threshold '__text__' must be name=number (a score above 0)",
  'region.twice': "region '__name__' has two thresholds",
  'region.needsMap': 'a minimum defect area needs the anomaly map (msg.anomalyMap from padim-score)',
  'region.needsLabels': 'a minimum area per region needs msg.anomalyMap.regionLabels (padim-score sends it)',
  'region.badList': 'msg.payload.regions must be a list of { name, score } (as padim-score sends it)',
  // model-settings.ts
  'model.integer': "__name__ must be a whole number of at least __min__, got '__value__'",
  'model.noPath': 'the model file path is empty: give a file such as models/line1.padim',
  'model.layers': "layers must be three tensor names separated by commas, got '__value__'",
  'model.provider': "execution provider must be one of __providers__, got '__value__'",
  'model.align': "align must be one of __modes__, got '__value__'",
  // the model configuration a node names (nodes/lib/model-config.ts)
  'config.noModel': 'no model selected: choose or add a padim-model configuration in the node settings',
  'config.notReady': 'the padim-model configuration is not ready',
  // backbone-catalogue.ts
  'backbone.unknown': "unknown backbone '__name__'",
  'backbone.noChecksum':
    "backbone '__name__' has no published SHA-256 (__source__); import a file you trust with 'padim models import'",
} as const;

export type SupportCode = keyof typeof SUPPORT_MESSAGES;

/** The `__name__` placeholders of a template, as a union of names. */
type Placeholders<T extends string> = T extends `${string}__${infer Name}__${infer Rest}`
  ? Name | Placeholders<Rest>
  : never;

/** The values an error of code `C` carries: one per placeholder of its template. */
export type SupportData<C extends SupportCode> = Record<
  Placeholders<(typeof SUPPORT_MESSAGES)[C]>,
  string | number
>;

/** The placeholder names of a template, in order of appearance. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(/__(\w+?)__/g)].map((m) => m[1]);
}

/** A template with its `__name__` placeholders replaced by the values (absent ones stay). */
export function fillTemplate(template: string, data: Readonly<Record<string, unknown>>): string {
  return template.replace(/__(\w+?)__/g, (whole, name: string) =>
    name in data ? String(data[name]) : whole,
  );
}

/** A refusal of src/node-support: `code` and `data` for the catalogue, `message` in English. */
export class SupportError<C extends SupportCode = SupportCode> extends Error {
  override name = 'SupportError';
  constructor(
    readonly code: C,
    readonly data: SupportData<C>,
  ) {
    super(fillTemplate(SUPPORT_MESSAGES[code], data));
  }
}

/** An error that carries a node-support code (also from another copy of this module). */
export function isSupportError(err: unknown): err is SupportError {
  if (!(err instanceof Error)) return false;
  const { code, data } = err as { code?: unknown; data?: unknown };
  return typeof code === 'string' && code in SUPPORT_MESSAGES && typeof data === 'object' && data !== null;
}

/**
 * The kinds of path the nodes check (`what` of PathPolicy.check), each with its catalogue key
 * (`padim-model.support.pathKind.<key>`): the kind is named in the message, so it is translated too.
 */
export const PATH_KINDS = {
  path: 'path',
  'image file': 'imageFile',
  'image folder': 'imageFolder',
  'model file': 'modelFile',
  'model history folder': 'modelHistory',
  'backbone file': 'backboneFile',
  'region file': 'regionFile',
  'archive folder': 'archiveFolder',
  'defect folder': 'defectFolder',
} as const;

export type PathKind = keyof typeof PATH_KINDS;
