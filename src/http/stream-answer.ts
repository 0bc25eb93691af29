/**
 * A streamed answer whose errors stay honest: what fails before the first byte is answered as a
 * problem+json like any error (the caller's handler throws it); what fails after it aborts the response,
 * so that no client takes a truncated file for a whole one. The producer writes with backpressure: a slow
 * client slows it down instead of filling memory, and a client that goes away stops it.
 */
import { PassThrough, Writable } from 'node:stream';
import type { FastifyReply } from 'fastify';

export async function streamAnswer(
  reply: FastifyReply,
  headers: () => Record<string, string>,
  produce: (out: NodeJS.WritableStream) => Promise<void>,
): Promise<FastifyReply> {
  const body = new PassThrough({ highWaterMark: 1024 * 1024 });
  // Replaced by the promise's executor, which runs at once.
  let started: () => void = () => undefined;
  const firstByte = new Promise<'started'>((resolve) => {
    started = () => {
      resolve('started');
    };
  });
  const out = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _encoding, done) {
      started();
      if (body.write(chunk)) done();
      else
        body.once('drain', () => {
          done();
        });
    },
    final(done) {
      body.end();
      done();
    },
  });
  // A client gone (or an aborted answer) fails the producer's next write instead of leaving it waiting.
  body.once('close', () => {
    if (!body.writableFinished) out.destroy(new Error('the client closed the connection'));
  });
  const run = produce(out).then(
    () =>
      new Promise<'done'>((resolve, reject) => {
        out.end(() => {
          resolve('done');
        });
        out.once('error', reject);
      }),
  );
  // Before the first byte a failure is the handler's to throw; after it, the response is cut.
  await Promise.race([firstByte, run]);
  run.catch((error: unknown) => {
    reply.log.warn({ err: error }, 'streamed answer failed after its first byte: aborted');
    body.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  return reply.headers(headers()).send(body);
}
