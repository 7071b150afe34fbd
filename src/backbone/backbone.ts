/**
 * The backbone: any ONNX network run by onnxruntime, giving three feature maps per image.
 *
 * A backbone is named by 'builtin:filterbank', a preset name (file looked up in the models
 * directory), or a path to an .onnx file. Stage tensors hidden inside the graph are exposed
 * as outputs in memory (graph-edit), so a classifier from a model zoo works unchanged.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildFilterBank } from './filterbank';
import { readRegularFileSync } from '../files/regular-file';
import { exposeOutputs, listOutputs } from '../onnx';
import { findEntry } from './registry/registry';
import { bestInstalled, resolveInstalled } from './registry/store';
import {
  AUTO_BACKBONE,
  BUILTIN_FILTERBANK,
  findPreset,
  howToGet,
  modelsDirectory,
  presetForFile,
  PRESETS,
  type BackbonePreset,
} from './presets';
import { DEFAULT_PROVIDER, PROVIDERS, type FeatureMap, type ProviderName } from '../types';

export type StageNames = [string, string, string];

export interface BackboneOptions {
  /** the three tensors used as stages 1..3; overrides a preset's */
  layers?: StageNames;
  /** execution provider; default cpu */
  provider?: ProviderName;
  /** throw instead of falling back to cpu when the provider cannot start */
  strict?: boolean;
  /** onnxruntime intra-op threads; default: onnxruntime's choice */
  threads?: number;
  /** one-line warnings for the user; default console.warn */
  log?: (msg: string) => void;
  /** where preset files are looked up; default env PADIM_MODELS_DIR, then ~/.padim/models */
  modelsDir?: string;
}

/** The model bytes and what is known about them before a session exists. */
interface ModelSource {
  id: string;
  /** absolute path of the file; absent for the built-in backbone */
  path?: string;
  bytes: Uint8Array;
  layers?: StageNames;
}

/**
 * Largest backbone file read: protobuf caps an ONNX file at 2 GiB (larger models keep their weights
 * in external files, which onnxruntime reads itself).
 */
export const MAX_BACKBONE_FILE_BYTES = 2 ** 31;

/** A backbone path can come from a model file's header: only a regular file is read (not /dev/zero, not a FIFO). */
function readBackboneFile(file: string): Buffer {
  return readRegularFileSync(file, MAX_BACKBONE_FILE_BYTES, 'backbone file');
}

function builtinSource(): ModelSource {
  const fb = buildFilterBank();
  return { id: BUILTIN_FILTERBANK, bytes: fb.bytes, layers: fb.layers };
}

function presetSource(preset: BackbonePreset, modelsDir?: string): ModelSource {
  const { dir, from } = modelsDirectory(modelsDir);
  const file = path.join(dir, preset.file);
  if (!fs.existsSync(file)) {
    throw new Error(
      `backbone '${preset.name}': model file not found: ${file} (models directory from ${from}; ` +
        `set option modelsDir or PADIM_MODELS_DIR to look elsewhere). ${howToGet(preset, dir)}`,
    );
  }
  return { id: preset.name, path: file, bytes: readBackboneFile(file), layers: preset.layers };
}

function fileSource(spec: string): ModelSource {
  const file = path.resolve(spec);
  if (!fs.existsSync(file)) {
    const looksLikeName = !spec.includes('/') && !spec.includes('\\') && !spec.endsWith('.onnx');
    throw new Error(
      looksLikeName
        ? `unknown backbone '${spec}': not '${BUILTIN_FILTERBANK}', not a preset (${Object.keys(PRESETS).join(', ')}), and no such file`
        : `backbone model file not found: ${file}`,
    );
  }
  const preset = presetForFile(file);
  return {
    id: preset?.name ?? path.basename(file, '.onnx'),
    path: file,
    bytes: readBackboneFile(file),
    layers: preset?.layers,
  };
}

function resolveSource(spec: string, modelsDir?: string): ModelSource {
  if (spec === BUILTIN_FILTERBANK) return builtinSource();
  const preset = findPreset(spec);
  return preset ? presetSource(preset, modelsDir) : fileSource(spec);
}

/** Stage names: given, from the preset, or the graph's outputs when there are exactly three. */
function chooseLayers(source: ModelSource, given?: StageNames): StageNames {
  const layers = given ?? source.layers;
  if (layers) {
    if (layers.length !== 3 || new Set(layers).size !== 3) {
      throw new Error(
        `backbone ${source.id}: layers must be three different tensor names, got [${layers.join(', ')}]`,
      );
    }
    return layers;
  }
  const outputs = listOutputs(source.bytes);
  if (outputs.length === 3) return outputs as StageNames;
  throw new Error(
    `backbone ${source.id}: say which three tensors are the stages (option layers, strides about 4, 8, 16). ` +
      `Graph outputs: ${outputs.join(', ')}; listTensors() from graph-edit lists the internal tensors.`,
  );
}

const PROVIDER_HINTS: Record<ProviderName, string> = {
  cpu: '',
  webgpu: 'WebGPU needs a GPU with a Vulkan driver (libvulkan) on Linux.',
  cuda: 'Reinstall onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 (NVIDIA GPU, CUDA 12, cuDNN 9).',
  tensorrt: 'Reinstall onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 and install TensorRT.',
};

/** onnxruntime's messages can be long and carry source paths: keep the first line, shortened. */
function shortReason(err: unknown): string {
  const line = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  return line.length > 240 ? `${line.slice(0, 237)}...` : line;
}

async function createSession(
  bytes: Uint8Array,
  id: string,
  opts: BackboneOptions,
): Promise<{ session: ort.InferenceSession; provider: ProviderName }> {
  const requested = opts.provider ?? DEFAULT_PROVIDER;
  if (!PROVIDERS.includes(requested)) {
    throw new Error(
      `unknown execution provider '${String(requested)}'; choose one of ${PROVIDERS.join(', ')}`,
    );
  }
  const base: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
  if (opts.threads !== undefined) base.intraOpNumThreads = opts.threads;
  const cpu = () => ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cpu'] });
  if (requested === 'cpu') return { session: await cpu(), provider: 'cpu' };
  try {
    // cpu second: nodes the provider lacks run on the cpu inside the same session
    const session = await ort.InferenceSession.create(bytes, {
      ...base,
      executionProviders: [requested, 'cpu'],
    });
    return { session, provider: requested };
  } catch (err) {
    const reason = shortReason(err);
    if (opts.strict) {
      throw new Error(
        `backbone ${id}: execution provider '${requested}' could not start: ${reason}. ${PROVIDER_HINTS[requested]}`,
      );
    }
    // A broken model fails here too: then the cpu error is thrown and no fallback is announced.
    const session = await cpu();
    const log = opts.log ?? ((m: string) => console.warn(m));
    log(
      `backbone ${id}: execution provider '${requested}' could not start (${reason}); using cpu instead. ${PROVIDER_HINTS[requested]}`,
    );
    return { session, provider: 'cpu' };
  }
}

function tensorMetadata(meta: readonly ort.InferenceSession.ValueMetadata[], name: string) {
  const m = meta.find((v) => v.name === name);
  return m && m.isTensor ? m : undefined;
}

/** A loaded backbone. Create with openBackbone(); call dispose() when done. */
export class Backbone {
  /** 'builtin:filterbank', the preset name, or the file's base name */
  readonly id: string;
  /** absolute path of the ONNX file (absent for the built-in backbone) */
  readonly path?: string;
  /** SHA-256 (hex) of the ONNX bytes as read: the identity of the model file */
  readonly sha256: string;
  /** the three stage tensors, as named in the original graph */
  readonly layers: StageNames;
  /** the execution provider actually in use */
  readonly provider: ProviderName;
  /** set when the network only takes one input size */
  readonly fixedInput?: { width: number; height: number };
  /** set when the network's batch dimension is fixed (then images are run in groups of it) */
  readonly fixedBatch?: number;
  private readonly inputName: string;
  /** graph outputs carrying the stages (differ from `layers` where a tensor was dequantised) */
  private readonly outputNames: StageNames;
  private channels?: [number, number, number];
  private released = false;

  constructor(
    private readonly session: ort.InferenceSession,
    init: {
      source: ModelSource;
      sha256: string;
      layers: StageNames;
      outputNames: StageNames;
      provider: ProviderName;
    },
  ) {
    this.id = init.source.id;
    this.path = init.source.path;
    this.sha256 = init.sha256;
    this.layers = init.layers;
    this.outputNames = init.outputNames;
    this.provider = init.provider;
    if (session.inputNames.length !== 1) {
      throw new Error(
        `backbone ${this.id}: expected one image input, the model has ${session.inputNames.length} (${session.inputNames.join(', ')})`,
      );
    }
    this.inputName = session.inputNames[0];
    const input = tensorMetadata(session.inputMetadata, this.inputName);
    if (input && input.type !== 'float32') {
      throw new Error(
        `backbone ${this.id}: input '${this.inputName}' is ${input.type}; a float32 NCHW image input is needed`,
      );
    }
    const [batch, channels, height, width] = input?.shape ?? [];
    if (typeof channels === 'number' && channels !== 3) {
      throw new Error(
        `backbone ${this.id}: input '${this.inputName}' has ${channels} channels; 3 (RGB, NCHW) are needed`,
      );
    }
    if (typeof height === 'number' && typeof width === 'number') this.fixedInput = { width, height };
    if (typeof batch === 'number') this.fixedBatch = batch;
    this.channels = this.channelsFromMetadata();
  }

  /** Channels per stage: from the graph's declared shapes, or known after the first run. */
  get stageChannels(): [number, number, number] | undefined {
    return this.channels;
  }

  private channelsFromMetadata(): [number, number, number] | undefined {
    const c = this.outputNames.map((n) => tensorMetadata(this.session.outputMetadata, n)?.shape[1]);
    return c.every((v): v is number => typeof v === 'number') ? (c as [number, number, number]) : undefined;
  }

  /** Throws when the network cannot take a width x height input. */
  checkInputSize(width: number, height: number): void {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`backbone ${this.id}: invalid input size ${width}x${height}`);
    }
    const f = this.fixedInput;
    if (f && (f.width !== width || f.height !== height)) {
      throw new Error(
        `model ${this.id} takes only ${f.width}x${f.height} input; requested ${width}x${height}. ` +
          `Use an input size of ${f.width}x${f.height} or a backbone with a dynamic input size.`,
      );
    }
  }

  /**
   * Runs n images (NCHW float32, normalised) and returns, per image, the three stage maps.
   * Each map owns its data (copied out of the batch output).
   */
  async run(batch: Float32Array, n: number, height: number, width: number): Promise<FeatureMap[][]> {
    if (this.released) throw new Error(`backbone ${this.id} was disposed`);
    this.checkInputSize(width, height);
    const perImage = 3 * height * width;
    if (!Number.isInteger(n) || n < 1 || batch.length !== n * perImage) {
      throw new RangeError(
        `backbone ${this.id}: batch holds ${batch.length} values, expected ${n} x 3 x ${height} x ${width}`,
      );
    }
    const group = this.fixedBatch ?? n;
    const result: FeatureMap[][] = [];
    for (let start = 0; start < n; start += group) {
      const count = Math.min(group, n - start);
      let data = batch.subarray(start * perImage, (start + count) * perImage);
      if (count < group) {
        // a fixed batch larger than what is left: pad with zeros, drop their outputs
        const padded = new Float32Array(group * perImage);
        padded.set(data);
        data = padded;
      }
      const feeds = { [this.inputName]: new ort.Tensor('float32', data, [group, 3, height, width]) };
      const outputs = await this.session.run(feeds, this.outputNames);
      result.push(...this.splitImages(outputs, count));
    }
    return result;
  }

  private splitImages(outputs: ort.InferenceSession.ReturnType, count: number): FeatureMap[][] {
    const stages = this.outputNames.map((name, s) => {
      const t = outputs[name];
      if (t.type !== 'float32' || t.dims.length !== 4) {
        throw new Error(
          `backbone ${this.id}: stage '${this.layers[s]}' gave a ${t.type} tensor of shape [${t.dims.join(', ')}]; float32 [N, C, H, W] is needed`,
        );
      }
      return { data: t.data as Float32Array, channels: t.dims[1], height: t.dims[2], width: t.dims[3] };
    });
    this.channels = stages.map((s) => s.channels) as [number, number, number];
    const images: FeatureMap[][] = [];
    for (let i = 0; i < count; i++) {
      images.push(
        stages.map((s) => {
          const size = s.channels * s.height * s.width;
          return {
            // a view, not a copy: the batch's output lives as long as its images are in use
            data: s.data.subarray(i * size, (i + 1) * size),
            channels: s.channels,
            height: s.height,
            width: s.width,
          };
        }),
      );
    }
    return images;
  }

  /** Releases the onnxruntime session (native memory). Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

/**
 * The backbone spec of a model's header: the file it was fitted with (through `check`, which may
 * refuse it or give the path to open), else its id (built-in or preset name).
 */
export function storedBackboneSpec(
  backbone: { id: string; path?: string },
  check?: (path: string) => string,
): string {
  if (backbone.path === undefined) return backbone.id;
  return check ? check(backbone.path) : backbone.path;
}

/** The header fields that name the backbone a model was fitted with (ModelHeader['backbone']). */
export interface StoredBackbone {
  id: string;
  /** where the ONNX file was at the fit (absent for the built-in backbone) */
  path?: string;
  /** SHA-256 (hex) of the ONNX bytes */
  sha256: string;
  layers: StageNames;
}

/** How a model's backbone is opened again: the runtime options, and which file. */
export interface StoredBackboneOptions extends Omit<BackboneOptions, 'layers'> {
  /** the backbone to open instead of the recorded one (a path, or a name: still the same bytes) */
  backbonePath?: string;
  /** checks the recorded path before it is opened (RuntimeOptions.checkStoredPath) */
  checkStoredPath?: (path: string) => string;
}

/** The options openBackbone reads, taken from fit's or scoring's larger option objects. */
export function backboneOptions(opts: BackboneOptions): BackboneOptions {
  return {
    layers: opts.layers,
    provider: opts.provider,
    strict: opts.strict,
    threads: opts.threads,
    log: opts.log,
    modelsDir: opts.modelsDir,
  };
}

/**
 * Opens the backbone a model was fitted with (update and scoring), with the model's layers, and
 * refuses another network: bytes whose SHA-256 is not the recorded one give other features.
 */
export async function openStoredBackbone(
  stored: StoredBackbone,
  opts: StoredBackboneOptions,
): Promise<Backbone> {
  const spec = opts.backbonePath ?? storedBackboneSpec(stored, opts.checkStoredPath);
  const backbone = await openBackbone(spec, backboneOptions({ ...opts, layers: stored.layers }));
  if (backbone.sha256 === stored.sha256) return backbone;
  await backbone.dispose();
  throw new Error(
    `the backbone ${backbone.id} (sha256 ${backbone.sha256.slice(0, 12)}…) is not the one this model was ` +
      `fitted with (${stored.id}, sha256 ${stored.sha256.slice(0, 12)}…)`,
  );
}

let warnedNoPretrained = false;

/** 'auto': the best installed registry backbone, else the filter bank with one warning per process. */
function resolveAuto(opts: BackboneOptions): string {
  const { dir } = modelsDirectory(opts.modelsDir);
  const best = bestInstalled(dir);
  if (best) return best;
  if (!warnedNoPretrained) {
    warnedNoPretrained = true;
    const log = opts.log ?? ((m: string) => console.warn(m));
    log(
      `backbone auto: no pretrained backbone installed in ${dir}; using ${BUILTIN_FILTERBANK}, which is far less accurate on real parts. ` +
        `Install one with: padim models pull resnet18 (or wide_resnet50_2; 'padim models list' shows all)`,
    );
  }
  return BUILTIN_FILTERBANK;
}

/**
 * Registry and imported names: the prepared backbone in the models directory (made on first
 * use from the downloaded file). A registry name that is not installed falls back to the old
 * preset of that name where its file exists, else says how to install it.
 */
async function namedSource(spec: string, opts: BackboneOptions): Promise<ModelSource | undefined> {
  const { dir } = modelsDirectory(opts.modelsDir);
  const found = await resolveInstalled(dir, spec);
  if (!found) return undefined;
  if (found.installed) {
    return { id: spec, path: found.path, bytes: readBackboneFile(found.path) };
  }
  const preset = findPreset(spec);
  if (preset && fs.existsSync(path.join(dir, preset.file))) return presetSource(preset, opts.modelsDir);
  throw new Error(
    `backbone '${spec}' is not installed in ${dir} (${findEntry(spec)?.file} is missing). ` +
      `Install it with: padim models pull ${spec} (or padim models import FILE on a machine without internet)` +
      (preset ? `, or provide the preset file ${path.join(dir, preset.file)}: ${howToGet(preset, dir)}` : ''),
  );
}

/** Loads a backbone: 'auto', 'builtin:filterbank', a registry or preset name, or an .onnx path. */
export async function openBackbone(spec: string, opts: BackboneOptions = {}): Promise<Backbone> {
  const chosen = spec === AUTO_BACKBONE ? resolveAuto(opts) : spec;
  const named = chosen === BUILTIN_FILTERBANK ? undefined : await namedSource(chosen, opts);
  const source = named ?? resolveSource(chosen, opts.modelsDir);
  const sha256 = createHash('sha256').update(source.bytes).digest('hex');
  const layers = chooseLayers(source, opts.layers);
  let exposed: ReturnType<typeof exposeOutputs>;
  try {
    exposed = exposeOutputs(source.bytes, layers);
  } catch (err) {
    throw new Error(`backbone ${source.id}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const { session, provider } = await createSession(exposed.bytes, source.id, opts);
  try {
    return new Backbone(session, {
      source,
      sha256,
      layers,
      outputNames: exposed.outputs as StageNames,
      provider,
    });
  } catch (err) {
    await session.release();
    throw err;
  }
}
