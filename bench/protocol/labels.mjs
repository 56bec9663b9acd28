// What the report and the progress lines call each measured mode and size.

export const MODES = {
  inproc: 'in-process detect',
  inproc_trivial: 'in-process, trivial function',
  async: 'in-process detectAsync',
  stat: 'fs.promises.stat round trip (libuv pool)',
  sync_excess: "in-process detect, less the function's own time",
  async_excess: "in-process detectAsync, less the function's own time",
  inproc_notune: 'in-process detect, malloc tuning off',
  grpc: 'gRPC detect (a plain grpc-js client, raw bytes: DetectRaw)',
  grpc_repeated: 'gRPC detect, repeated double (as first written)',
  grpc_trivial: 'gRPC, trivial function (DetectRaw)',
  remote: 'gRPC detectAsync, Outliers { remote } and RemoteOutliers (any exported function)',
  remote_trivial: 'gRPC, trivial function, { remote }',
  grpc_floor: "gRPC's floor: a health Check, the smallest unary call",
  ncp: 'node-calls-python detect',
  ncp_trivial: 'node-calls-python, trivial function',
  ncp_async: 'node-calls-python async call of detect (libuv pool)',
  ll_async: 'in-process detectAsync, low-latency mode',
  ll_stat: 'fs.promises.stat round trip, beside the low-latency mode',
  ll_sync_excess: "in-process detect, less the function's own time, low-latency mode",
  ll_async_excess: "in-process detectAsync, less the function's own time, low-latency mode",
  pool: 'worker process detectAsync (ProcessPool, input copied)',
  pool_shared: 'worker process detectAsync, input from pool.allocate (no copy)',
  pool_trivial: 'worker process, trivial function',
  pool_floor: "a worker process's floor: 64 bytes to a python echo and back (socketpair)",
  ll_pool: 'worker process detectAsync, low-latency mode',
  ll_pool_trivial: 'worker process, trivial function, low-latency mode',
  python: 'plain Python detect',
  python_trivial: 'plain Python, trivial function',
  python_default_malloc: 'plain Python detect, default malloc',
};

export const sizeLabel = (s) =>
  s === 0 ? '0*' : s >= 1e6 ? `${s / 1e6}M` : s >= 1e3 ? `${s / 1e3}k` : String(s);

/** The place of the rows run with taskset -c 0: every thread of the measured processes on one CPU. */
export const ONE_CPU = 'one CPU (taskset -c 0)';
