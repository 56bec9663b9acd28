// How many CPUs this process may really use: the smaller of its affinity mask (which a
// container's cpuset narrows) and its cgroup's CPU quota (`docker run --cpus`, a Kubernetes CPU
// limit), rounded up to a whole CPU. It is what runtimeInfo().usableCpus reports (the most
// Python threads that can help; docs/threads.md), and one CPU turns the low-latency mode off.
//
// Why not std::thread::hardware_concurrency or Node's os.availableParallelism(): the first
// counts the host's cores, the second the affinity mask only (libuv 1.46 and 1.52 both said 2
// inside a 0.5-CPU cgroup v1 quota on a 2-core machine), so a 1-CPU container on a 64-core host
// would be told it has 64. The quota is found as the JVM, .NET and Go find it: the
// process's cgroup in /proc/self/cgroup, the hierarchy's mount point in /proc/self/mountinfo,
// and the quota of that cgroup and of each parent up to the mount point (a parent's limit binds
// its children): cgroup v1's cpu.cfs_quota_us / cpu.cfs_period_us, cgroup v2's cpu.max.
#pragma once

#include <cstdint>

namespace py_outliers {

struct CpuBudget {
  int affinity = 1;  // CPUs in the affinity mask
  double quota = 0;  // the tightest cgroup CPU quota, in CPUs (e.g. 0.5); 0: none
  int usable = 1;    // min(affinity, ceil(quota)), at least 1
};

// Reads the files each time; any thread. Files that are missing or unreadable count as no
// limit.
CpuBudget ReadCpuBudget();

// The low-latency mode's window (PY_OUTLIERS_LOW_LATENCY_US = `us`), in ns: off where the
// process may run on one CPU only (its affinity mask): a polling thread there holds the core
// that the thread it waits for needs, and each call then costs the whole window (measured: 209
// us against 13 us for a 1k-value call). A CPU quota alone does not turn it off: the threads
// still run on separate CPUs, and the bench shows what the polling costs the quota. The
// in-process threads (runtime/python_threads.h) and the worker processes (pool/) both ask here.
int64_t LowLatencyWindowNs(const CpuBudget& budget, int64_t us);

}  // namespace py_outliers
