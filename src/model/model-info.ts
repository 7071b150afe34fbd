/**
 * A model's identity card: its id (from the header's hash) and the header fields a flow or the model
 * history shows. Small and JSON-friendly.
 */
import { createHash } from 'node:crypto';
import type { ModelHeader } from './model';

/** What a flow may want to know about the model in use (small, JSON-friendly). */
export interface ModelInfo {
  path: string;
  /** first 12 hex digits of the SHA-256 of the model's header: changes with every fit or update */
  id: string;
  threshold: number;
  nTrain: number;
  backbone: string;
  createdAt: string;
  updatedAt?: string;
}

/** The card of the model whose header is `header`, stored at `path`. */
export function modelInfo(path: string, header: ModelHeader): ModelInfo {
  const id = createHash('sha256').update(JSON.stringify(header)).digest('hex').slice(0, 12);
  return {
    path,
    id,
    threshold: header.threshold,
    nTrain: header.nTrain,
    backbone: header.backbone.id,
    createdAt: header.createdAt,
    ...(header.updatedAt ? { updatedAt: header.updatedAt } : {}),
  };
}
