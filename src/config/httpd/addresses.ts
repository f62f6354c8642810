// httpd's `Require ip` / `Allow from` address forms (mod_authz_host), as the
// CIDR items of an mcmp-edge allow list:
//   10.1.2.3            one address
//   10.1 / 172 / 127.0.0  a partial address: the leading 1-3 bytes
//   10.1.0.0/16          CIDR;  10.1.0.0/255.255.0.0  network/netmask
//   2001:db8::a00:20ff:fea7:ccea, 2001:db8::/32  IPv6 address or CIDR
import net from 'node:net';

/** Returns the CIDR for one httpd address form, or undefined when it is not one. */
export function httpdAddressToCidr(form: string): string | undefined {
  const slash = form.indexOf('/');
  if (slash >= 0) {
    const address = form.slice(0, slash);
    const mask = form.slice(slash + 1);
    const version = net.isIP(address);
    if (version === 0) return undefined;
    if (/^\d{1,3}$/.test(mask)) return Number(mask) <= (version === 4 ? 32 : 128) ? `${address}/${Number(mask)}` : undefined;
    if (version === 4 && net.isIPv4(mask)) {
      const bits = netmaskBits(mask);
      return bits === undefined ? undefined : `${address}/${bits}`;
    }
    return undefined;
  }
  if (net.isIP(form) !== 0) return form;
  // Partial IPv4: 1 to 3 complete bytes, no trailing dot.
  if (/^\d{1,3}(\.\d{1,3}){0,2}$/.test(form)) {
    const bytes = form.split('.').map(Number);
    if (bytes.some((b) => b > 255)) return undefined;
    const prefix = bytes.length * 8;
    while (bytes.length < 4) bytes.push(0);
    return `${bytes.join('.')}/${prefix}`;
  }
  return undefined;
}

/** 255.255.0.0 → 16; undefined when the mask is not contiguous. */
function netmaskBits(mask: string): number | undefined {
  const value = mask.split('.').reduce((acc, b) => acc * 256 + Number(b), 0);
  let bits = 0;
  while (bits < 32 && (value & (2 ** (31 - bits))) !== 0) bits++;
  const rebuilt = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return rebuilt === value >>> 0 ? bits : undefined;
}

/**
 * An allow list that matches no peer: 0.0.0.0 and :: are never the source
 * address of a connection. Used for `Require all denied`.
 */
export const NOBODY = ['0.0.0.0/32', '::/128'] as const;
export const EVERYBODY = ['0.0.0.0/0', '::/0'] as const;
export const LOCAL = ['127.0.0.0/8', '::1'] as const;
