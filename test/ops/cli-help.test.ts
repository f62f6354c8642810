// What a new user meets first: a wrong flag is named back to them, and the
// directives are described where they look (--help, the README table), from
// the one table in src/config/directives.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DIRECTIVES } from '../../src/config/directives';
import { CLI } from '../helpers/proxy-process';

const README = path.resolve(__dirname, '../../../README.md');

test('an unknown flag is named in the one-line error, exit code 2', () => {
  const r = spawnSync(process.execPath, [CLI, '--bogus'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'mcmp-edge: --bogus: unknown flag; see --help\n');
  const v = spawnSync(process.execPath, [CLI, '--listen'], { encoding: 'utf8' });
  assert.equal(v.status, 2);
  assert.equal(v.stderr, 'mcmp-edge: --listen: needs a value; see --help\n');
});

test('--help describes every directive and sends nobody to a document they do not have', () => {
  const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.doesNotMatch(r.stdout, /MCMP\.md/);
  for (const d of DIRECTIVES) assert.match(r.stdout, new RegExp(`^  ${d.name} +\\S.*\\(default `, 'm'), d.name);
  assert.match(r.stdout, /^  Maxnode +node \(and domain\) table size \(default 20\)$/m);
});

test('the README directive table has a row for every directive and no MCMP.md §7 pointer', () => {
  const readme = fs.readFileSync(README, 'utf8');
  assert.doesNotMatch(readme, /MCMP\.md §7/);
  for (const d of DIRECTIVES) assert.match(readme, new RegExp(`^\\| ${d.name} \\| `, 'm'), d.name);
});
