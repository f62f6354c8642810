// The two time forms of the access log: httpd's %t, "[02/Dec/2026:06:38:36
// +0000]" in local time with its offset, and ISO 8601 in UTC with
// milliseconds for JSON. Both are built from the request's arrival and made
// once per second (Date and toISOString cost more than the rest of a line).

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** performance.now() of this thread as milliseconds since the epoch. */
export function epochMs(performanceNow: number): number {
  return performance.timeOrigin + performanceNow;
}

export class HttpdClock {
  #second = -1;
  #text = '';

  /** httpd's %t (with the brackets) for a time in ms since the epoch. */
  format(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#text = httpdTime(new Date(second * 1000));
    }
    return this.#text;
  }
}

/** ISO 8601 (UTC, milliseconds) as Date.toISOString writes it, its seconds part made once per second. */
export class IsoClock {
  #second = -1;
  #prefix = '';

  format(ms: number): string {
    const whole = Math.floor(ms);
    const second = Math.floor(whole / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#prefix = new Date(second * 1000).toISOString().slice(0, 20);
    }
    const milli = whole - second * 1000;
    return `${this.#prefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
  }
}

export function httpdTime(d: Date): string {
  const offset = -d.getTimezoneOffset();
  const abs = Math.abs(offset);
  const zone = `${offset < 0 ? '-' : '+'}${two(Math.floor(abs / 60))}${two(abs % 60)}`;
  return `[${two(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${zone}]`;
}
