import { UI_CONTRACT_VERSION, expect, test } from '@forestall/e2e-kit';
import { readFileSync } from 'node:fs';
import path from 'node:path';

// What QA teams read before they install the kit must match what they install. No browser: these read files.
const read = (...parts: string[]) => readFileSync(path.join(__dirname, '..', ...parts), 'utf8');

test('the kit is versioned with the UI contract', () => {
  // Outside suites pin the kit to the contract they were written against: one bumped without the other misleads.
  const readme = read('..', 'README.md');
  const changelog = readme.slice(readme.indexOf('## UI contract changelog'));
  const versions = [...changelog.matchAll(/^- (\d+\.\d+\.\d+):/gm)].map((m) => m[1]);
  const latest = versions[versions.length - 1];
  const kit = JSON.parse(read('kit', 'package.json')) as { version: string };
  expect(latest).toMatch(/^\d+\.\d+\.\d+$/);
  expect(kit.version).toBe(latest);
  expect(UI_CONTRACT_VERSION).toBe(latest);
  // The install commands name the tarball `npm pack` makes of this version.
  expect(read('kit', 'README.md')).toContain(`forestall-e2e-kit-${kit.version}.tgz`);
});

test("the kit README's example suite is the one that runs", () => {
  const readme = read('kit', 'README.md');
  const section = readme.slice(readme.indexOf('## An example suite'));
  const shown = section.slice(section.indexOf('```ts\n') + 6, section.indexOf('\n```\n') + 1);
  expect(shown).toBe(read('kit', 'examples', 'proactive-case.spec.ts'));
});
