// Reads an httpd configuration file with its Include/IncludeOptional files and
// resolves <IfModule>: mcmp-edge plays the part of every module the
// mod_cluster set-up loads, so positive <IfModule> blocks apply and negated
// ones do not. The result is one flat-ish tree for map.ts.
import fs from 'node:fs';
import path from 'node:path';
import { HttpdConfigError, parseHttpd, type Item } from './syntax';

/** Deep enough for any real layout; stops Include loops. */
const MAX_INCLUDE_DEPTH = 16;

export interface ReadResult {
  readonly items: Item[];
  /** Places that were read but have no effect here (negated <IfModule>, <IfDefine>, optional includes not found). */
  readonly skipped: string[];
}

interface ReadState {
  serverRoot: string;
  readonly maxFileBytes: number;
}

export function readHttpdFile(file: string, maxFileBytes: number): ReadResult {
  const skipped: string[] = [];
  const state: ReadState = { serverRoot: '', maxFileBytes };
  const items = readOne(path.resolve(file), 0, state, skipped, undefined);
  return { items, skipped };
}

function readOne(file: string, depth: number, state: ReadState, skipped: string[], from: { file: string; line: number } | undefined): Item[] {
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw new Error('not a regular file');
    if (stat.size > state.maxFileBytes) throw new Error(`${stat.size} bytes; at most ${state.maxFileBytes} accepted`);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (from === undefined) throw err;
    throw new HttpdConfigError(from.file, from.line, `Include: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return expand(parseHttpd(text, file), file, depth, state, skipped);
}

function expand(items: readonly Item[], file: string, depth: number, state: ReadState, skipped: string[]): Item[] {
  const out: Item[] = [];
  for (const item of items) {
    const name = item.name.toLowerCase();
    if (item.kind === 'directive' && name === 'serverroot' && item.args[0] !== undefined) {
      state.serverRoot = item.args[0];
    }
    if (item.kind === 'directive' && (name === 'include' || name === 'includeoptional')) {
      if (depth >= MAX_INCLUDE_DEPTH) throw new HttpdConfigError(item.file, item.line, `Include nested more than ${MAX_INCLUDE_DEPTH} deep (a loop?)`);
      for (const pattern of item.args) {
        const base = state.serverRoot !== '' ? state.serverRoot : path.dirname(file);
        const files = matchFiles(path.resolve(base, pattern));
        if (files.length === 0) {
          if (name === 'includeoptional' || /[*?[]/.test(pattern)) {
            skipped.push(`${item.file}:${item.line}: ${item.name} ${pattern} (no file matches)`);
            continue;
          }
          throw new HttpdConfigError(item.file, item.line, `Include: ${path.resolve(base, pattern)} does not exist`);
        }
        for (const f of files) out.push(...readOne(f, depth + 1, state, skipped, { file: item.file, line: item.line }));
      }
      continue;
    }
    if (item.kind === 'section' && name === 'ifmodule') {
      if ((item.args[0] ?? '').startsWith('!')) {
        skipped.push(`${item.file}:${item.line}: <IfModule ${item.args.join(' ')}> (mcmp-edge has the mod_cluster modules)`);
        continue;
      }
      out.push(...expand(item.children, file, depth, state, skipped));
      continue;
    }
    if (item.kind === 'section' && name === 'ifdefine') {
      skipped.push(`${item.file}:${item.line}: <IfDefine ${item.args.join(' ')}> (no -D parameters here)`);
      continue;
    }
    if (item.kind === 'section') {
      out.push({ ...item, children: expand(item.children, file, depth, state, skipped) });
      continue;
    }
    out.push(item);
  }
  return out;
}

/** A path, a directory (all files in it, as httpd does) or a wildcard in the last component. */
function matchFiles(target: string): string[] {
  const base = path.basename(target);
  if (!/[*?[]/.test(base)) {
    if (!fs.existsSync(target)) return [];
    if (fs.statSync(target).isDirectory()) {
      return fs.readdirSync(target).sort().map((f) => path.join(target, f)).filter((f) => fs.statSync(f).isFile());
    }
    return [target];
  }
  const dir = path.dirname(target);
  if (!fs.existsSync(dir)) return [];
  const re = new RegExp(`^${base.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return fs.readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => path.join(dir, f)).filter((f) => fs.statSync(f).isFile());
}
