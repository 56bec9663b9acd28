// The ESM entry point re-exports the CommonJS build, so that `import` and `require` share
// one copy of the module state (and of the native addon) in a process.
export {
  AbortError,
  buildInfo,
  ClosedError,
  Outliers,
  PythonError,
  RemoteError,
  RemoteOutliers,
  ResultError,
  runtimeInfo,
  setPythonThreads,
  startGrpcServer,
} from './index.js';
export type {
  BuildInfo,
  CallOptions,
  GrpcServer,
  GrpcServerOptions,
  OutliersOptions,
  RemoteOutliersOptions,
  RemoteTlsOptions,
  RuntimeInfo,
} from './index.js';
