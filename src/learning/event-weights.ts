/**
 * How much an interaction says about a result, by event type: a purchase more than a click. Types without
 * a weight (views, hovers, anything a client invents) are ignored; a weight of 0 drops a type.
 */
export type EventWeights = Readonly<Record<string, number>>;

export const DEFAULT_EVENT_WEIGHTS: EventWeights = { click: 1, add_to_cart: 2, purchase: 3 };

const MAX_WEIGHT = 1000;

/**
 * `click=1,purchase=3` merged over the defaults (a type given replaces its default; `view=0` drops one).
 * Throws a RangeError naming the part that is wrong.
 */
export function parseEventWeights(spec: string, defaults: EventWeights = DEFAULT_EVENT_WEIGHTS): EventWeights {
  // A Map, not an object: an event type may be any string, `__proto__` included.
  const weights = new Map(Object.entries(defaults));
  for (const part of spec.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const match = /^([^=\s]+)=(\d+(?:\.\d+)?)$/.exec(part);
    const weight = match ? Number(match[2]) : Number.NaN;
    if (!match?.[1] || !(weight >= 0 && weight <= MAX_WEIGHT)) {
      throw new RangeError(
        `"${part}" is not <event_type>=<weight> with a weight from 0 to ${MAX_WEIGHT} (e.g. click=1,purchase=3)`,
      );
    }
    weights.set(match[1], weight);
  }
  return Object.freeze(Object.fromEntries([...weights].filter(([, w]) => w > 0)));
}

/**
 * The weight of an event type: its own entry only, so that a type named like an object's built-in
 * property (`toString`, `constructor`) weighs 0 like any other type without a weight.
 */
export function weightOf(weights: EventWeights, eventType: string): number {
  return Object.hasOwn(weights, eventType) ? (weights[eventType] ?? 0) : 0;
}
