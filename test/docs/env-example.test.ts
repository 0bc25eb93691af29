/**
 * `.env.example` lists every setting of SETTINGS, commented out at its default with its help above it, in
 * SETTINGS order, after a header on how to load it; like the README's configuration table, it is generated
 * (`npm run --silent docs:env > .env.example`) and cannot drift from the settings.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { SETTINGS, settingsEnvExample } from '../../src/config/config.js';

const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');

it('.env.example is the one generated from the settings', () => {
  assert.equal(example, settingsEnvExample(), '.env.example is out of date: npm run --silent docs:env > .env.example');
});

it('.env.example names exactly the settings, each once, in their order, and sets none of them', () => {
  const named = [...example.matchAll(/^#?\s*(CLICKSTREAM_[A-Z0-9_]+)=/gm)].map((match) => match[1]);
  assert.deepEqual(
    named,
    SETTINGS.map((s) => s.variable),
  );
  const lines = example.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
  assert.deepEqual(lines, [], 'a line of .env.example sets a variable');
});
