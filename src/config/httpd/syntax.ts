// The httpd configuration syntax (https://httpd.apache.org/docs/2.4/configuring.html):
// one directive per line, `\` at the end of a line continues it, `#` starts a
// comment line, arguments are separated by spaces and may be double- or
// single-quoted, and <Section args> … </Section> nests. No meaning here: the
// mapping to mcmp-edge settings is in map.ts.

export class HttpdConfigError extends Error {
  readonly code = 'ERR_MCMP_EDGE_HTTPD_CONFIG';
  readonly file: string;
  readonly line: number;
  /** The message without the place (the place is added when it is printed). */
  readonly reason: string;
  constructor(file: string, line: number, reason: string) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'HttpdConfigError';
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}

export interface Directive {
  readonly kind: 'directive';
  readonly name: string;
  readonly args: readonly string[];
  readonly file: string;
  readonly line: number;
}

export interface Section {
  readonly kind: 'section';
  readonly name: string;
  readonly args: readonly string[];
  readonly children: Item[];
  readonly file: string;
  readonly line: number;
}

export type Item = Directive | Section;

/** Splits the arguments of one logical line; quotes group words and are removed. */
export function splitArgs(text: string, file: string, line: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let word = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== c; j++) {
        // httpd keeps a backslash before a quote as an escape of the quote.
        if (text[j] === '\\' && text[j + 1] === c) j++;
        word += text[j];
      }
      if (j >= text.length) throw new HttpdConfigError(file, line, `unterminated ${c === '"' ? 'double' : 'single'} quote`);
      out.push(word);
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < text.length && text[j] !== ' ' && text[j] !== '\t') j++;
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}

/** True when the text looks like httpd syntax rather than YAML or JSON: its first statement is `Name args` or `<Section`. */
export function looksLikeHttpd(text: string): boolean {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    // "Name value" or "Name" or "<Name ...>"; YAML writes "Name: value", JSON starts with "{".
    return /^<\/?[A-Za-z][\w-]*(\s|>|$)/.test(line) || /^[A-Za-z][\w-]*(\s+[^:\s]|\s*$)/.test(line);
  }
  return false;
}

/** Parses one file's text into nested items. Include is not followed here (read.ts does it). */
export function parseHttpd(text: string, file: string): Item[] {
  const root: Item[] = [];
  const stack: Section[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let logical = lines[i] as string;
    // A line ending in a backslash continues on the next one.
    while (/\\\s*$/.test(logical) && i + 1 < lines.length) {
      logical = logical.replace(/\\\s*$/, ' ') + (lines[++i] as string);
    }
    const trimmed = logical.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const into = stack.length > 0 ? (stack[stack.length - 1] as Section).children : root;
    if (trimmed.startsWith('</')) {
      const m = /^<\/([A-Za-z][\w-]*)\s*>$/.exec(trimmed);
      if (m === null) throw new HttpdConfigError(file, lineNo, `bad section end ${JSON.stringify(trimmed)}`);
      const open = stack.pop();
      if (open === undefined) throw new HttpdConfigError(file, lineNo, `</${m[1]}> without <${m[1]}>`);
      if (open.name.toLowerCase() !== (m[1] as string).toLowerCase()) {
        throw new HttpdConfigError(file, lineNo, `</${m[1]}> closes <${open.name}> opened at line ${open.line}`);
      }
      continue;
    }
    if (trimmed.startsWith('<')) {
      const m = /^<([A-Za-z][\w-]*)(\s[^>]*)?>$/.exec(trimmed);
      if (m === null) throw new HttpdConfigError(file, lineNo, `bad section start ${JSON.stringify(trimmed)}; expected <Name arguments>`);
      const section: Section = { kind: 'section', name: m[1] as string, args: splitArgs(m[2] ?? '', file, lineNo), children: [], file, line: lineNo };
      into.push(section);
      stack.push(section);
      continue;
    }
    const m = /^([A-Za-z][\w-]*)(.*)$/.exec(trimmed);
    if (m === null) throw new HttpdConfigError(file, lineNo, `cannot read ${JSON.stringify(trimmed)}; expected a directive name`);
    into.push({ kind: 'directive', name: m[1] as string, args: splitArgs(m[2] ?? '', file, lineNo), file, line: lineNo });
  }
  const unclosed = stack.pop();
  if (unclosed !== undefined) throw new HttpdConfigError(file, unclosed.line, `<${unclosed.name}> is never closed`);
  return root;
}
