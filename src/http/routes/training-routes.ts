import { Type } from 'typebox';
import type { FastifyReply } from 'fastify';
import { FORMAT_FILES } from '../../formats/training-formats.js';
import { JsonObject } from '../../schemas/json-schemas.js';
import { BiasQuery, TrainingDataQuery } from '../../schemas/training-queries.js';
import { biasOptions, trainingRequest, type TrainingRequest } from '../../services/training-options.js';
import type { TrainingService } from '../../services/training.js';
import { trainingWriters } from '../../services/training-output.js';
import { streamAnswer } from '../stream-answer.js';
import { defineRoute } from './route-definition.js';

const asIs = (name: string): string => name;

/** The success answer of a training-data stream, as the OpenAPI document describes it. */
export const TRAINING_DATA_RESPONSE = {
  description: 'The rows, in an order that depends only on the batch.',
  content: {
    'application/x-ndjson': { schema: Type.String() },
    'application/vnd.apache.parquet': { schema: Type.String({ format: 'binary' }) },
  },
};

/** Internal routes: a released batch as its position-bias curve, or as training data, streamed. */
export const TRAINING_ROUTES = [
  defineRoute({
    method: 'GET',
    url: '/api/v1/clickstream/internal/batch/bias',
    access: 'internal',
    errors: ['batch_not_found', 'batch_not_released'],
    schema: {
      tags: ['internal'],
      summary: 'The position-bias curve of a released batch (PBM by EM), as `clickstream bias` prints it',
      description:
        'propensities: per 0-based position, the chance that a result there is examined, relative to position 0; warnings: not_identifiable / weakly_identifiable (too few objects shown at several positions for one query), not_sealed, no_clicks, not_converged.',
      querystring: BiasQuery,
      response: { 200: JsonObject() },
    },
    handler:
      ({ training }) =>
      (request) => {
        const { batch_id: batchId, ...raw } = request.query;
        return training.bias(batchId, biasOptions(raw, asIs));
      },
  }),

  defineRoute({
    method: 'GET',
    url: '/api/v1/clickstream/internal/batch/training-data',
    access: 'internal',
    errors: ['batch_not_found', 'batch_not_released'],
    schema: {
      tags: ['internal'],
      summary: 'A released batch as training data, streamed, as `clickstream training-data` writes it',
      description:
        'application/x-ndjson for sentence-transformers, jsonl and judgments; application/vnd.apache.parquet for parquet. Warnings (codes) in the x-clickstream-warnings header. A failure after the first byte aborts the response: a body that ends without error is complete.',
      querystring: TrainingDataQuery,
      response: { 200: TRAINING_DATA_RESPONSE },
    },
    handler:
      ({ training }) =>
      (request, reply) => {
        const { batch_id: batchId, ...raw } = request.query;
        return streamTrainingData(reply, training, batchId, trainingRequest(raw, asIs, 'jsonl'));
      },
  }),
];

/**
 * Streams a released batch as training data (the training-data route, and a task's for its worker).
 * Refusals (an unknown or collecting batch) come from training.write before its first row, so
 * streamAnswer answers them as problems.
 */
export function streamTrainingData(
  reply: FastifyReply,
  training: TrainingService,
  batchId: string,
  { format, options }: TrainingRequest,
): Promise<unknown> {
  const warnings: string[] = [];
  const file = FORMAT_FILES[format];
  return streamAnswer(
    reply,
    () => ({
      'content-type': file.mediaType,
      'content-disposition': `attachment; filename="${batchId.replace(/[^\w.-]/g, '_')}-${options.method}${file.extension}"`,
      ...(warnings.length > 0 ? { 'x-clickstream-warnings': warnings.join(', ') } : {}),
    }),
    async (out) => {
      const writers = trainingWriters(format, [out], {
        split: options.split !== null,
        warn: (warning) => warnings.push(warning.code),
      });
      await training.write(batchId, options, writers.output);
      await writers.end();
    },
  );
}
