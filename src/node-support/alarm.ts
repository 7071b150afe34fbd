/**
 * The alarm message the threshold node builds for an NG image: a small JSON object with a
 * published schema (schemas/alarm.schema.json), so whatever consumes it (an MQTT subscriber, a
 * PLC gateway, a database) can rely on its shape. Every alarm is checked against the schema
 * before it leaves, so a wrong field is caught here and not in the consumer.
 */
import type { ScoreMap } from '../types';
import { assertFollowsSchema } from '../result/json-schema';

export interface Alarm {
  timestamp: string;
  station: string;
  line: string;
  image: string | null;
  score: number;
  threshold: number;
  normalizedScore: number | null;
  defectArea: number | null;
  consecutive: number;
  modelId: string | null;
  /** the region of interest that made the image NG (schema version 2; absent without regions) */
  region?: string;
}

/** Throws a readable error when `alarm` does not follow the schema. */
export function assertValidAlarm(alarm: unknown): asserts alarm is Alarm {
  assertFollowsSchema('alarm.schema.json', alarm, 'alarm');
}

/** Fraction of map pixels at or above `threshold` (0 for an empty map). */
export function defectArea(map: Pick<ScoreMap, 'data'>, threshold: number): number {
  const n = map.data.length;
  if (n === 0) return 0;
  let above = 0;
  for (let i = 0; i < n; i++) if (map.data[i] >= threshold) above++;
  return above / n;
}

export interface AlarmInput {
  station?: string;
  line?: string;
  image?: string;
  score: number;
  threshold: number;
  normalizedScore?: number;
  defectArea?: number;
  consecutive: number;
  modelId?: string;
  region?: string;
  now?: Date;
}

/** Builds an alarm and checks it against the schema. */
export function buildAlarm(input: AlarmInput): Alarm {
  const alarm: Alarm = {
    timestamp: (input.now ?? new Date()).toISOString(),
    station: input.station ?? '',
    line: input.line ?? '',
    image: input.image ?? null,
    score: input.score,
    threshold: input.threshold,
    normalizedScore: input.normalizedScore ?? null,
    defectArea: input.defectArea ?? null,
    consecutive: input.consecutive,
    modelId: input.modelId ?? null,
    ...(input.region !== undefined ? { region: input.region } : {}),
  };
  assertValidAlarm(alarm);
  return alarm;
}
