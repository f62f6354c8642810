// A connection to a node that cannot be opened because the proxy itself is out
// of file descriptors (issue 13) is not the node's failure: the node is not put
// in error and the request is not answered 502 at once. It waits in its pool
// (connection-pool.ts) until a connection comes free or a descriptor does.

/** The process (EMFILE) or the system (ENFILE) has no descriptor left. */
export function isOutOfDescriptors(err: Error | null): boolean {
  if (err === null) return false;
  const code = (err as { code?: unknown }).code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/** How often a pool waiting for descriptors tries to open a connection again. */
export const DESCRIPTOR_RETRY_MS = 50;

/**
 * How long a request waits for a descriptor before it fails with the error
 * (as undici's connect timeout): the accept back-off frees descriptors within
 * a poll (src/forward/accept-governor.ts), so this is only reached when the
 * process is out of them for another reason.
 */
export const DESCRIPTOR_WAIT_MS = 10_000;
