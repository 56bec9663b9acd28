// The ESM entry point re-exports the CommonJS build, so that `import` and `require` share
// one copy of the module state (and of the native addon) in a process. test/install/package.test.ts
// checks that it exports every name the CommonJS entry does.
export {
  AbortError,
  buildInfo,
  ClosedError,
  ndarray,
  Outliers,
  PythonError,
  PythonFunction,
  PythonStartError,
  RemoteError,
  RemoteOutliers,
  ResultError,
  runtimeInfo,
  setPythonThreads,
  startGrpcServer,
} from './index.js';
export type {
  AsyncDetector,
  BuildInfo,
  CallOptions,
  GrpcServer,
  GrpcServerOptions,
  Int64As,
  NDArray,
  OutliersOptions,
  PyOutliersErrorCode,
  PythonArgument,
  PythonCallOptions,
  PythonFunctionOptions,
  PythonResult,
  RemoteOutliersOptions,
  RemoteTlsOptions,
  RuntimeInfo,
  TypedArray,
} from './index.js';
