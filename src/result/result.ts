/**
 * The inspection result the threshold node builds for every image, OK or NG, with a published
 * schema (schemas/result.schema.json). Where an alarm (alarm.ts) is an event, raised for NG
 * images after debounce, the result is the station's state: published retained on a "last
 * result" topic, a client that connects later (a dashboard, a PLC gateway) learns at once what
 * the station saw last.
 */
import { assertFollowsSchema } from './json-schema';

export interface InspectionResult {
  timestamp: string;
  station: string;
  line: string;
  image: string | null;
  decision: 'OK' | 'NG';
  score: number;
  threshold: number;
  normalizedScore: number | null;
  defectArea: number | null;
  consecutiveNg: number;
  alarm: boolean;
  modelId: string | null;
}

export interface ResultInput {
  station?: string;
  line?: string;
  image?: string;
  ok: boolean;
  score: number;
  threshold: number;
  normalizedScore?: number;
  defectArea?: number;
  consecutiveNg: number;
  alarm: boolean;
  modelId?: string;
  now?: Date;
}

/** Throws a readable error when `result` does not follow the schema. */
export function assertValidResult(result: unknown): asserts result is InspectionResult {
  assertFollowsSchema('result.schema.json', result, 'inspection result');
}

/** Builds a result and checks it against the schema. */
export function buildResult(input: ResultInput): InspectionResult {
  const result: InspectionResult = {
    timestamp: (input.now ?? new Date()).toISOString(),
    station: input.station ?? '',
    line: input.line ?? '',
    image: input.image ?? null,
    decision: input.ok ? 'OK' : 'NG',
    score: input.score,
    threshold: input.threshold,
    normalizedScore: input.normalizedScore ?? null,
    defectArea: input.defectArea ?? null,
    consecutiveNg: input.consecutiveNg,
    alarm: input.alarm,
    modelId: input.modelId ?? null,
  };
  assertValidResult(result);
  return result;
}
