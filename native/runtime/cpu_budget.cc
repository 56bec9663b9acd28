#include "runtime/cpu_budget.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace py_outliers {
namespace {

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, separator)) parts.push_back(part);
  return parts;
}

bool Has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

int AffinityCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

// One CPU hierarchy this process is in: the folder of its cgroup, and the hierarchy's mount
// point, where the walk up through the parents stops.
struct Hierarchy {
  bool v2 = false;
  std::string mount;
  std::string cgroup;  // mount + the cgroup's path below the mount's root
};

// /proc/self/cgroup: "ID:CONTROLLERS:PATH". v1's CPU controller is listed as "cpu" (often with
// "cpuacct"); v2's single line is "0::PATH".
bool CgroupPath(bool v2, std::string* path) {
  std::ifstream file("/proc/self/cgroup");
  std::string line;
  while (std::getline(file, line)) {
    const size_t first = line.find(':');
    const size_t second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string id = line.substr(0, first);
    const std::string controllers = line.substr(first + 1, second - first - 1);
    if (v2 ? (id == "0" && controllers.empty()) : Has(Split(controllers, ','), "cpu")) {
      *path = line.substr(second + 1);
      return true;
    }
  }
  return false;
}

// /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT MOUNT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER".
// ROOT is the mount's root inside the hierarchy: inside a container it is often the container's
// own cgroup, which /proc/self/cgroup then shows in full (without a cgroup namespace) or as "/".
std::vector<Hierarchy> FindHierarchies() {
  std::vector<Hierarchy> found;
  std::ifstream file("/proc/self/mountinfo");
  std::string line;
  while (std::getline(file, line)) {
    const std::vector<std::string> fields = Split(line, ' ');
    const auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || std::distance(dash, fields.end()) < 4) continue;
    const std::string& type = *(dash + 1);
    const bool v2 = type == "cgroup2";
    if (!v2 && !(type == "cgroup" && Has(Split(*(dash + 3), ','), "cpu"))) continue;
    std::string path;
    if (!CgroupPath(v2, &path)) continue;
    const std::string& root = fields[3];
    Hierarchy hierarchy;
    hierarchy.v2 = v2;
    hierarchy.mount = fields[4];
    if (root == "/") {
      hierarchy.cgroup = hierarchy.mount + (path == "/" ? "" : path);
    } else if (path.compare(0, root.size(), root) == 0 &&
               (path.size() == root.size() || path[root.size()] == '/')) {
      hierarchy.cgroup = hierarchy.mount + path.substr(root.size());
    } else {
      hierarchy.cgroup = hierarchy.mount;  // a cgroup namespace: the mount is our cgroup
    }
    found.push_back(hierarchy);
  }
  return found;
}

// The quota of one cgroup folder in CPUs, or 0 for none.
double QuotaOf(const Hierarchy& hierarchy, const std::string& folder) {
  double quota = 0, period = 0;
  if (hierarchy.v2) {
    std::ifstream file(folder + "/cpu.max");  // "max 100000" or "50000 100000"
    std::string limit;
    if (!(file >> limit >> period) || limit == "max") return 0;
    quota = std::strtod(limit.c_str(), nullptr);
  } else {
    std::ifstream quota_file(folder + "/cpu.cfs_quota_us");  // -1: none
    std::ifstream period_file(folder + "/cpu.cfs_period_us");
    if (!(quota_file >> quota) || !(period_file >> period)) return 0;
  }
  return quota > 0 && period > 0 ? quota / period : 0;
}

// The tightest quota from the cgroup up to the hierarchy's mount point.
double QuotaCpus(const Hierarchy& hierarchy) {
  double tightest = 0;
  std::string folder = hierarchy.cgroup;
  for (;;) {
    const double quota = QuotaOf(hierarchy, folder);
    if (quota > 0 && (tightest == 0 || quota < tightest)) tightest = quota;
    if (folder.size() <= hierarchy.mount.size()) break;
    folder = folder.substr(0, folder.rfind('/'));
  }
  return tightest;
}

}  // namespace

CpuBudget ReadCpuBudget() {
  CpuBudget budget;
  budget.affinity = AffinityCpus();
  for (const Hierarchy& hierarchy : FindHierarchies()) {
    const double quota = QuotaCpus(hierarchy);
    if (quota > 0 && (budget.quota == 0 || quota < budget.quota)) budget.quota = quota;
  }
  budget.usable = budget.affinity;
  if (budget.quota > 0) {
    budget.usable = std::min(budget.usable, std::max(1, static_cast<int>(std::ceil(budget.quota))));
  }
  return budget;
}

int64_t LowLatencyWindowNs(const CpuBudget& budget, int64_t us) {
  return budget.affinity >= 2 ? us * 1000 : 0;
}

}  // namespace py_outliers
