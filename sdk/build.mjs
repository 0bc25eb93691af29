// Builds the SDK: an ES module for bundlers and Node (dist/index.js) and a minified IIFE that sets
// window.Clickstream (dist/clickstream.min.js), which the collector serves at /sdk/clickstream.min.js.
// Prints the IIFE's gzipped size and fails above the budget: the script is on every search page.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const BUDGET_BYTES = 5 * 1024;
const { version } = JSON.parse(readFileSync(new URL('package.json', import.meta.url), 'utf8'));
const entry = (file) => [new URL(file, import.meta.url).pathname];
const common = {
  bundle: true,
  target: 'es2022',
  define: { __SDK_VERSION__: JSON.stringify(version) },
  legalComments: 'none',
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: entry('src/index.ts'),
  format: 'esm',
  platform: 'neutral',
  outfile: 'dist/index.js',
  sourcemap: true,
});
const iife = await build({
  ...common,
  entryPoints: entry('src/global.ts'),
  format: 'iife',
  platform: 'browser',
  minify: true,
  write: false,
  outfile: 'dist/clickstream.min.js',
});
const { writeFileSync, mkdirSync } = await import('node:fs');
mkdirSync(new URL('dist', import.meta.url), { recursive: true });
const [file] = iife.outputFiles;
writeFileSync(new URL('dist/clickstream.min.js', import.meta.url), file.contents);
const gzipped = gzipSync(file.contents, { level: 9 }).length;
console.log(
  `sdk ${version}: clickstream.min.js ${file.contents.length} bytes, ${gzipped} bytes gzipped (budget ${BUDGET_BYTES})`,
);
if (gzipped > BUDGET_BYTES) {
  console.error(`clickstream.min.js is ${gzipped} bytes gzipped, over its budget of ${BUDGET_BYTES} bytes`);
  process.exit(1);
}
