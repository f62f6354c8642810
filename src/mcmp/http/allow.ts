// Which peers may talk MCMP to us. MCMP has no authentication (MCMP.md §1.1):
// httpd leaves it to `Require ip …`, so the listener checks the peer address
// against this list before it parses a single byte.
import net from 'node:net';

export class AllowListError extends Error {
  readonly code = 'ERR_MCMP_EDGE_ALLOW';
  constructor(message: string) {
    super(message);
    this.name = 'AllowListError';
  }
}

/** One parsed item, kept to print the list back in a normalised form. */
interface AllowItem {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** A scope id (`fe80::1%eth0`) says which link, not which host: it plays no part in matching. */
function withoutZone(address: string): string {
  const percent = address.indexOf('%');
  return percent < 0 ? address : address.slice(0, percent);
}

function parseItem(raw: string): AllowItem {
  const item = raw.trim();
  if (item === '') throw new AllowListError('allow list: empty item (stray comma?)');
  const slash = item.indexOf('/');
  const address = withoutZone(slash < 0 ? item : item.slice(0, slash));
  const version = net.isIP(address);
  if (version === 0) throw new AllowListError(`allow list: "${item}" is not an IPv4/IPv6 address or CIDR`);
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  if (slash < 0) return { address, prefix: max, family };
  const prefixText = item.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    throw new AllowListError(`allow list: "${item}" has a bad prefix length (0..${max})`);
  }
  return { address, prefix: Number(prefixText), family };
}

/** Bounds the verdict cache: a scan from many addresses cannot grow it without limit. */
const MAX_REMEMBERED_PEERS = 1024;

export class AllowList {
  readonly #items: readonly AllowItem[];
  // node's BlockList already knows that ::ffff:a.b.c.d is the IPv4 peer a.b.c.d.
  readonly #matcher = new net.BlockList();
  /**
   * Verdicts by peer address as node reports it. BlockList.check builds a
   * SocketAddress per call (~3 µs, the largest cost of a STATUS); the list never
   * changes (a reload makes a new one) and the peers are few.
   */
  readonly #verdicts = new Map<string, boolean>();

  private constructor(items: readonly AllowItem[]) {
    this.#items = items;
    for (const it of items) this.#matcher.addSubnet(it.address, it.prefix, it.family);
  }

  /** Parses a comma-separated list of IPv4/IPv6 addresses and CIDRs, e.g. "127.0.0.0/8,::1". */
  static parse(list: string): AllowList {
    if (list.trim() === '') throw new AllowListError('allow list is empty: nobody could send MCMP');
    return new AllowList(list.split(',').map(parseItem));
  }

  /** True when `address` (as node reports a peer, possibly v4-mapped or with a zone id) is on the list. */
  allows(address: string): boolean {
    const known = this.#verdicts.get(address);
    if (known !== undefined) return known;
    const verdict = this.#check(address);
    if (this.#verdicts.size >= MAX_REMEMBERED_PEERS) this.#verdicts.clear();
    this.#verdicts.set(address, verdict);
    return verdict;
  }

  #check(address: string): boolean {
    const bare = withoutZone(address);
    const version = net.isIP(bare);
    if (version === 0) return false;
    return this.#matcher.check(bare, version === 4 ? 'ipv4' : 'ipv6');
  }

  toString(): string {
    return this.#items
      .map((it) => (it.prefix === (it.family === 'ipv4' ? 32 : 128) ? it.address : `${it.address}/${it.prefix}`))
      .join(',');
  }
}
