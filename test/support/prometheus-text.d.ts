/** The parser the metrics test reads /metrics with (the package ships no types). */
declare module 'parse-prometheus-text-format' {
  export interface Sample {
    readonly value?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly buckets?: Readonly<Record<string, string>>;
    readonly count?: string;
    readonly sum?: string;
  }
  export interface Family {
    readonly name: string;
    readonly help: string;
    readonly type: string;
    readonly metrics: readonly Sample[];
  }
  // eslint-disable-next-line no-restricted-syntax -- the package itself has a default export
  export default function parsePrometheusTextFormat(text: string): Family[];
}
