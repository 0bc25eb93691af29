/**
 * Every route the app serves itself, in one list: the app registers them from it, and the OpenAPI, access
 * and fuzz tests read it. Routes that plugins add (Swagger UI's files, CORS preflights) get their access
 * where the plugin is registered (see grantAccess).
 */
import { BATCH_ROUTES } from './batch-routes.js';
import { DEBUG_ROUTES } from './debug-routes.js';
import { METRICS_ROUTES } from './metrics-routes.js';
import { OPERATION_ROUTES } from './operation-routes.js';
import type { RouteDefinition } from './route-definition.js';
import { SDK_ROUTES } from './sdk-routes.js';
import { SESSION_ROUTES } from './session-routes.js';
import { STATS_ROUTES } from './stats-routes.js';
import { FINE_TUNING_ROUTES } from './task-routes.js';
import { TRAINING_ROUTES } from './training-routes.js';

export const ROUTES: readonly RouteDefinition[] = [
  ...SESSION_ROUTES,
  ...BATCH_ROUTES,
  ...TRAINING_ROUTES,
  ...STATS_ROUTES,
  ...FINE_TUNING_ROUTES,
  ...OPERATION_ROUTES,
  ...SDK_ROUTES,
  ...METRICS_ROUTES,
  ...DEBUG_ROUTES,
];
