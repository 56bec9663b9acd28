/**
 * py-outliers: call a numpy function in-process from Node.js.
 *
 * A `Float64Array` reaches Python as a read-only numpy view of its own memory (no copy); the
 * indices that come back are copied into a new `Int32Array`.
 *
 * @packageDocumentation
 */
export {
  AbortError,
  ClosedError,
  PythonError,
  ProcessExitError,
  PythonStartError,
  RemoteError,
  ResultError,
  type PyOutliersErrorCode,
} from './errors.js';
export type { CallOptions } from './cancellation.js';
export { Outliers, type AsyncDetector, type OutliersOptions } from './outliers.js';
export { RemoteOutliers, type RemoteOutliersOptions, type RemoteTlsOptions } from './remote.js';
export { Remote, type RemoteOptions } from './remote-call.js';
export { startGrpcServer, type GrpcServer, type GrpcServerOptions } from './server.js';
export {
  buildInfo,
  runtimeInfo,
  setPythonThreads,
  type BuildInfo,
  type RuntimeInfo,
} from './runtime.js';
export { ProcessPool, type ProcessPoolOptions, type TypedArrayConstructor } from './pool.js';
export { PythonFunction, type PythonCallOptions, type PythonFunctionOptions } from './function.js';
export {
  ndarray,
  type Int64As,
  type NDArray,
  type PythonArgument,
  type PythonResult,
  type TypedArray,
} from './values.js';
