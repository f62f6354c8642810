// Every micro-benchmark suite, in the order they run.
import type { MicroSuite } from './harness';
import { ajpCodecSuite } from './ajp-codec.bench';
import { mcmpHandlerSuite } from './mcmp-handler.bench';
import { mcmpParseSuite } from './mcmp-parse.bench';
import { routeSuite } from './route.bench';
import { requestPathSuite } from './request-path.bench';
import { sessionSuite } from './session.bench';
import { snapshotSuite } from './snapshot.bench';

export const MICRO_SUITES: readonly MicroSuite[] = [mcmpParseSuite, mcmpHandlerSuite, routeSuite, snapshotSuite, sessionSuite, requestPathSuite, ajpCodecSuite];
