import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { FastifyError, FastifySchemaCompiler } from 'fastify';
import type { Static, TSchema } from 'typebox';
import { type FieldError, mergeFieldErrors, validationFailed } from '../domain/errors.js';
import type { ShapeCheck } from '../services/bulk-ingest.js';
import type { App } from './app-types.js';
import { fieldErrors } from './problem.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The rules of the route's body beyond its schema (limits, time window, duplicates). When the schema
     * rejects a request, these are checked too, so one answer lists every problem.
     */
    bodyProblems?: (body: unknown) => FieldError[];
  }
}

/** Bodies: strict, every error listed (see registerValidation). */
const bodyAjv = new Ajv({
  strictNumbers: true,
  allErrors: true,
  // Errors carry their schema and value, for messages such as typeMessage's (http/problem.ts); a valid
  // body costs nothing more.
  verbose: true,
  coerceTypes: false,
  removeAdditional: false,
  useDefaults: false,
  strict: false,
  allowUnionTypes: true,
});
/** Query strings: text, so numbers are coerced and defaults applied. */
const queryAjv = new Ajv({
  strictNumbers: true,
  allErrors: true,
  coerceTypes: true,
  removeAdditional: false,
  useDefaults: true,
  strict: false,
  allowUnionTypes: true,
});

/** A validator of a request part: bodies strictly, query strings with coercion and defaults. */
function compile(schema: object, httpPart: string | undefined): ValidateFunction {
  return httpPart === 'body' ? bodyAjv.compile(schema) : withSafeIntegers(queryAjv.compile(schema));
}

/**
 * The validators of a route whose body is checked as an envelope (`bodyEnvelope`) while its documented
 * schema shows the items' shapes: the items are checked one by one by the route's service.
 */
export function envelopeValidatorCompiler(envelope: TSchema): FastifySchemaCompiler<object> {
  return ({ schema, httpPart }) => compile(httpPart === 'body' ? envelope : schema, httpPart);
}

/** An item checked as the body of a route, with the same messages: the typed item, or its field errors. */
export function bodyShapeCheck<S extends TSchema>(schema: S): ShapeCheck<Static<S>> {
  const validate = bodyAjv.compile<Static<S>>(schema);
  return (value) => (validate(value) ? { ok: true, value } : fieldErrors(validate.errors ?? [], 'body'));
}

/**
 * How requests are validated. Bodies are checked strictly (no coercion, nothing removed, every error
 * listed); query strings are text by nature, so their numbers are coerced and their defaults applied.
 * Schema errors are answered together with the route's own body rules (every route sets
 * attachValidation: see route-declarations.ts), in one 400 that lists every problem.
 */
export function registerValidation(app: App): void {
  app.setValidatorCompiler(({ schema, httpPart }) => compile(schema, httpPart));
  app.addHook('preHandler', (request, _reply, done) => {
    const invalid = request.validationError as (Error & Partial<FastifyError>) | undefined;
    if (!invalid) {
      done();
      return;
    }
    const shape = fieldErrors((invalid.validation ?? []) as ErrorObject[], invalid.validationContext);
    const rules =
      invalid.validationContext === 'body' ? (request.routeOptions.config.bodyProblems?.(request.body) ?? []) : [];
    done(validationFailed(mergeFieldErrors(shape, rules)));
  });
}

/**
 * Ajv coerces the query strings "Infinity" and "1e400" to Infinity, and lets them through `integer`,
 * `minimum` and `maximum`; a number past 2^53 cannot be an exact page cursor either. After coercion every
 * number of a query must be a safe integer (all query numbers of this API are counts and cursors).
 */
function withSafeIntegers(validate: ValidateFunction): ValidateFunction {
  const checked = ((data: unknown) => {
    const valid = validate(data);
    checked.errors = validate.errors;
    if (!valid || typeof data !== 'object' || data === null) return valid;
    const unsafe = Object.entries(data).filter(
      ([, value]) => typeof value === 'number' && !Number.isSafeInteger(value),
    );
    if (unsafe.length === 0) return true;
    checked.errors = unsafe.map(([name]) => ({
      instancePath: `/${name}`,
      schemaPath: '#/type',
      keyword: 'type',
      params: {},
      message: `must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`,
    }));
    return false;
  }) as ValidateFunction;
  checked.errors = null;
  return checked;
}
