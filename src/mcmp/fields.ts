// Value rules shared by the MCMP commands (MCMP.md §2.0 "Booleans",
// "Durations", §2.2 lists). Each returns undefined for "not a valid value" and
// leaves the choice of error to the command, because the same rule maps to
// different catalogue entries per field. What a stored value must satisfy
// (lengths, port, type) is in slots/rows.ts, shared with the PersistSlots loader.
import { byteLength } from '../slots/rows';

/**
 * yes/on/true → true, no/off/false → false (case-insensitive); anything else
 * is undefined and the field keeps its value (true/false: decision D14).
 */
export function parseBoolean(value: string): boolean | undefined {
  switch (value.toLowerCase()) {
    case 'yes':
    case 'on':
    case 'true':
      return true;
    case 'no':
    case 'off':
    case 'false':
      return false;
    default:
      return undefined;
  }
}

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;

/** C `atoi`: optional blanks and sign, then digits; garbage reads as 0. Clamped to int32. */
export function atoi(value: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(value);
  if (m === null) return 0;
  const n = Number(m[1]);
  if (n > INT32_MAX) return INT32_MAX;
  if (n < INT32_MIN) return INT32_MIN;
  return n;
}

export type DurationUnit = 'ms' | 's';

const US_PER = { ms: 1000, s: 1_000_000, min: 60_000_000, h: 3_600_000_000 } as const;

/**
 * httpd's timeout syntax: a non-negative decimal integer and an optional unit
 * of which only the first one or two characters count (`ms`, `s`, `mi`, `h`;
 * so `5sec` is 5 s and `5mins` 5 minutes). Returns microseconds, or undefined
 * for a negative number, garbage, an unknown unit or an unsafe magnitude.
 */
export function parseDurationUs(value: string, defaultUnit: DurationUnit): number | undefined {
  const m = /^(\d+)(.*)$/s.exec(value);
  if (m === null) return undefined;
  const amount = Number(m[1]);
  const unit = m[2] as string;
  let factor: number;
  if (unit === '') {
    factor = US_PER[defaultUnit];
  } else if (unit[0] === 'h') {
    factor = US_PER.h;
  } else if (unit[0] === 's') {
    factor = US_PER.s;
  } else if (unit[0] === 'm' && unit[1] === 's') {
    factor = US_PER.ms;
  } else if (unit[0] === 'm' && unit[1] === 'i') {
    factor = US_PER.min;
  } else {
    return undefined;
  }
  const us = amount * factor;
  return Number.isSafeInteger(us) ? us : undefined;
}

/** Why a list (Alias/Context value) was refused. */
export type ListProblem = 'empty' | 'too-long';

/**
 * Splits a comma list (MCMP.md §2.2). Every item must be non-empty and at most
 * `maxBytes` long (decision D4: the same limit for every item).
 */
export function splitList(value: string, maxBytes: number): string[] | ListProblem {
  const items = value.split(',');
  for (const item of items) {
    if (item === '') return 'empty';
    if (byteLength(item) > maxBytes) return 'too-long';
  }
  return items;
}

/** `[fe80::1%eth0]` → `[fe80::1]`: the zone of a bracketed IPv6 host is dropped. */
export function stripIpv6Zone(host: string): string {
  if (!host.startsWith('[')) return host;
  const pct = host.indexOf('%');
  if (pct < 0) return host;
  const close = host.indexOf(']', pct);
  return close < 0 ? host.slice(0, pct) : host.slice(0, pct) + host.slice(close);
}
