// The low-latency mode's one mechanism (docs/threads.md): for a fixed window, poll a counter
// instead of sleeping, so that a change within the window is seen without a thread wake-up (and,
// on a virtual machine, without waking a halted vCPU). Used by the Python threads between jobs
// (python_threads.cc); the event loop's side is calls/result_poll.h.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace py_outliers {

// One pause of a polling loop: tells the core (and a hypervisor) that this is a spin, so a
// sibling hyperthread gets the execution units meanwhile.
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Returns once `counter` is no longer `seen`, or `window_ns` has passed.
inline void PollWhileUnchanged(const std::atomic<uint64_t>& counter, uint64_t seen,
                               int64_t window_ns) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(window_ns);
  for (unsigned i = 1; counter.load(std::memory_order_acquire) == seen; i++) {
    CpuRelax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() >= deadline) return;
  }
}

}  // namespace py_outliers
