import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { settingsMarkdownTable } from '../../src/config/config.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

it('README shows the configuration table generated from the settings', () => {
  assert.ok(
    readme.includes(settingsMarkdownTable()),
    `README.md is out of date; paste the output of \`npm run --silent docs:config\`:\n${settingsMarkdownTable()}`,
  );
});

it('README opens with the install-and-run and the test commands', () => {
  const firstBlock = /```(?:sh|bash)?\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  assert.match(firstBlock, /npm install && npm start/);
  assert.match(firstBlock, /npm test/);
});

it('README tour bodies are valid JSON', () => {
  const bodies = [...readme.matchAll(/-d '([^']*)'/g)].map((m) => m[1] ?? '');
  assert.ok(bodies.length >= 3, 'the tour posts at least a session, events and a release');
  for (const body of bodies) assert.doesNotThrow(() => JSON.parse(body), `not valid JSON: ${body}`);
});
