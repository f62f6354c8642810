// The MCMP error catalogue of MCMP.md §2.0, as one table. The texts are sent
// verbatim in the `Mess` header (Java and the Perl suite compare them), so
// they must not be reworded here, not even the `TODO:` ones.

export type McmpErrorType = 'SYNTAX' | 'MEM' | 'GENERAL';

interface CatalogueEntry {
  readonly type: McmpErrorType;
  /** `%s` placeholders are substituted in order. */
  readonly mess: string;
}

export const MCMP_ERRORS = {
  SMESPAR: { type: 'SYNTAX', mess: "SYNTAX: Can't parse MCMP message. It might have contained illegal symbols or unknown elements." },
  SBALBIG: { type: 'SYNTAX', mess: 'SYNTAX: Balancer field too big' },
  SBAFBIG: { type: 'SYNTAX', mess: 'SYNTAX: A field is too big' },
  SROUBIG: { type: 'SYNTAX', mess: 'SYNTAX: JVMRoute field too big' },
  SROUBAD: { type: 'SYNTAX', mess: "SYNTAX: JVMRoute can't be empty" },
  SDOMBIG: { type: 'SYNTAX', mess: 'SYNTAX: LBGroup field too big' },
  SHOSBIG: { type: 'SYNTAX', mess: 'SYNTAX: Host field too big' },
  SPORBIG: { type: 'SYNTAX', mess: 'SYNTAX: Port field too big' },
  STYPBIG: { type: 'SYNTAX', mess: 'SYNTAX: Type field too big' },
  // Decision D2: a Type other than ajp/http/https is refused (C stores it and fails later).
  STYPBAD: { type: 'SYNTAX', mess: 'SYNTAX: Type field has bad value' },
  SALIBIG: { type: 'SYNTAX', mess: 'SYNTAX: Alias field too big' },
  SCONBIG: { type: 'SYNTAX', mess: 'SYNTAX: Context field too big' },
  SFLUBAD: { type: 'SYNTAX', mess: 'SYNTAX: Flushwait field has bad value' },
  SPNGBAD: { type: 'SYNTAX', mess: 'SYNTAX: Ping field has bad value' },
  STTLBAD: { type: 'SYNTAX', mess: 'SYNTAX: TTL field has bad value' },
  STIMBAD: { type: 'SYNTAX', mess: 'SYNTAX: Timeout field has bad value' },
  SALIBAD: { type: 'SYNTAX', mess: 'SYNTAX: Alias without Context' },
  SCONBAD: { type: 'SYNTAX', mess: 'SYNTAX: Context without Alias' },
  NOCONAL: { type: 'SYNTAX', mess: 'SYNTAX: No Context and Alias in APP command' },
  SBADFLD: { type: 'SYNTAX', mess: 'SYNTAX: Invalid field "%s" in message' },
  SMISFLD: { type: 'SYNTAX', mess: 'SYNTAX: Mandatory field(s) missing in message' },
  SCMDUNS: { type: 'SYNTAX', mess: 'SYNTAX: Command is not supported' },
  SREADER: { type: 'SYNTAX', mess: "SYNTAX: %s can't read POST data" },
  EALIEMP: { type: 'SYNTAX', mess: 'TODO: Empty Alias is not allowed' },
  ECONEMP: { type: 'SYNTAX', mess: 'TODO: Empty Context is not allowed' },
  ELOADBAD: { type: 'SYNTAX', mess: 'TODO: Bad value for Load' },
  ENOROUTE: { type: 'SYNTAX', mess: 'TODO: No JVMRoute given!' },
  EPINGSCH: { type: 'SYNTAX', mess: 'PING Unsupported scheme: %s' },
  MNODEUI: { type: 'MEM', mess: 'MEM: Can\'t update or insert node with "%s" JVMRoute' },
  MBALAUI: { type: 'MEM', mess: 'MEM: Can\'t update or insert balancer for node with "%s" JVMRoute' },
  MNODERD: { type: 'MEM', mess: 'MEM: Can\'t read node with "%s" JVMRoute' },
  MNODEEX: { type: 'MEM', mess: 'MEM: Node with "%s" JVMRoute already exists' },
  MNODEET: { type: 'MEM', mess: 'MEM: Another for the same worker already exist' },
  // The two partial CONFIG failures (§2.1 step 9): several are joined with ", " and the reply is GENERAL.
  MHOSTUI: { type: 'GENERAL', mess: 'MEM: Can\'t update or insert host alias for node with "%s" JVMRoute (%s)' },
  MCONTUI: { type: 'GENERAL', mess: 'MEM: Can\'t update or insert context for node with "%s" JVMRoute (%s and alias: %s)' },
} as const satisfies Record<string, CatalogueEntry>;

export type McmpErrorId = keyof typeof MCMP_ERRORS;

function format(template: string, args: readonly string[]): string {
  let next = 0;
  return template.replace(/%s/g, () => args[next++] ?? '');
}

/** An MCMP error: the reply is 500 with the Version/Type/Mess headers. */
export class McmpError extends Error {
  readonly code = 'ERR_MCMP';
  readonly id: McmpErrorId;
  readonly type: McmpErrorType;
  readonly mess: string;

  constructor(id: McmpErrorId, ...args: string[]) {
    const entry: CatalogueEntry = MCMP_ERRORS[id];
    const mess = format(entry.mess, args);
    super(mess);
    this.name = 'McmpError';
    this.id = id;
    this.type = entry.type;
    this.mess = mess;
  }

  /**
   * The partial CONFIG failure of MCMP.md §2.1 step 9: every failed host or
   * context insert, joined with ", ", as one GENERAL error.
   */
  static joined(parts: readonly McmpError[]): McmpError {
    if (parts.length === 0) throw new RangeError('McmpError.joined needs at least one error');
    const first = parts[0] as McmpError;
    const joined = new McmpError(first.id);
    const mess = parts.map((p) => p.mess).join(', ');
    // Only this factory may widen the text beyond one catalogue entry.
    (joined as { mess: string }).mess = mess;
    joined.message = mess;
    return joined;
  }
}
