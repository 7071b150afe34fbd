/**
 * Which distance head a scorer uses:
 * - 'stream' (batched-linalg's mahalanobis): the inverse covariances are fed to onnxruntime on
 *   every call, chunk by chunk. On the CPU this costs no copy (onnxruntime reads the model's
 *   arrays where they are) and keeps memory at one copy of the model: the CPU default.
 * - 'device' (DeviceHead): the inverse covariances are initializers of the head's sessions,
 *   copied to the execution provider once. On a GPU provider this is what avoids sending
 *   gigabytes across the bus per image: the default whenever the backbone runs on a GPU.
 * - 'auto' (default): 'device' on a GPU provider, 'stream' on the CPU.
 * The environment variable PADIM_HEAD (auto | device | stream) sets the choice when the
 * option does not (tests and benchmarks use it to run the device head on the CPU).
 */
import type { GaussianArrays } from '../model/model';
import type { ProviderName } from '../types';
import { DeviceHead, type DeviceHeadOptions } from './device-head';

export {
  DeviceHead,
  DEFAULT_ARRANGEMENT,
  DEFAULT_GROUP_BYTES,
  groupChunks,
  type DeviceHeadOptions,
} from './device-head';
export { chunkBatch, scatterDistances } from './chunk-batch';
export { deviceHeadGraph, type HeadArrangement, type HeadChunk } from './graph';

export type HeadChoice = 'auto' | 'device' | 'stream';
export const HEAD_CHOICES: readonly HeadChoice[] = ['auto', 'device', 'stream'];

/** The option's choice, else PADIM_HEAD's, else 'auto'; an unknown name is an error. */
export function headChoice(option?: HeadChoice, env = process.env.PADIM_HEAD): HeadChoice {
  const chosen = option ?? (env === undefined || env === '' ? 'auto' : env);
  if (!HEAD_CHOICES.includes(chosen as HeadChoice)) {
    throw new Error(
      `unknown distance head '${chosen}'${option ? '' : ' (from PADIM_HEAD)'}; choose one of ${HEAD_CHOICES.join(', ')}`,
    );
  }
  return chosen as HeadChoice;
}

export interface OpenHeadOptions extends Omit<DeviceHeadOptions, 'provider'> {
  head?: HeadChoice;
  /** fail instead of falling back to the streaming head */
  strict?: boolean;
  log?: (message: string) => void;
}

/**
 * Every chunk a float32 inverse: the device head's graphs hold float32 initializers only. A
 * model with a compact factor (precision-storage/) keeps no inverses at all.
 */
function allFloat32(g: GaussianArrays): boolean {
  if (g.factor) return false;
  return g.precision.every((p) => (p as unknown) instanceof Float32Array);
}

/**
 * The device head for a model on `provider` when the choice calls for one, else undefined
 * (the caller streams). A device head that cannot be built (a compact model, a provider that
 * refuses the graph, too little device memory) falls back to streaming with one warning,
 * unless `strict`.
 */
export async function openDeviceHead(
  g: GaussianArrays,
  mean: Float32Array,
  provider: ProviderName,
  opts: OpenHeadOptions = {},
): Promise<DeviceHead | undefined> {
  const choice = headChoice(opts.head);
  if (choice === 'stream' || (choice === 'auto' && provider === 'cpu')) return undefined;
  const log = opts.log ?? ((m: string) => console.warn(m));
  const refuse = (reason: string): undefined => {
    const msg = `distance head on ${provider}: ${reason}; streaming the inverse covariances from the CPU instead`;
    if (opts.strict) throw new Error(msg);
    log(msg);
    return undefined;
  };
  if (!allFloat32(g))
    return refuse('the model stores its inverse covariances in a compact format (float32 only)');
  try {
    return await DeviceHead.build(g, mean, { ...opts, provider });
  } catch (err) {
    const line = (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 240);
    return refuse(`the sessions could not be built (${line})`);
  }
}
