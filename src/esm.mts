// The ESM entry point re-exports the CommonJS build, so that `import` and `require` share
// one copy of the module state (and of the native addon) in a process.
export {
  buildInfo,
  ClosedError,
  Outliers,
  PythonError,
  RemoteError,
  RemoteOutliers,
  ResultError,
  runtimeInfo,
  startGrpcServer,
} from './index.js';
export type {
  BuildInfo,
  GrpcServer,
  GrpcServerOptions,
  OutliersOptions,
  RemoteOutliersOptions,
  RuntimeInfo,
} from './index.js';
