#include "figures.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

namespace phonebus::bench {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double ProcStatField(int pid, int field) {
  if (pid <= 0 || field < 3) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  // Fields after the command name, which may itself hold spaces: the state is field 3.
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(line.substr(paren + 2));
  std::string value;
  for (int i = 3; i <= field; ++i) {
    if (!(fields >> value)) return -1;
  }
  return std::stod(value);
}

double ProcessCpuSeconds(int pid) {
  const double utime = ProcStatField(pid, 14), stime = ProcStatField(pid, 15);
  if (utime < 0 || stime < 0) return -1;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double Percentile(std::vector<int64_t>& ns, double q) {
  if (ns.empty()) return -1;
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(ns.size())));
  const size_t at = std::clamp<size_t>(rank, 1, ns.size()) - 1;
  std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(at), ns.end());
  return static_cast<double>(ns[at]) / 1e6;
}

std::string Fixed(double v, int digits) {
  if (v < 0 || std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows, size_t text_columns) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out = "|";
    for (size_t i = 0; i < cells.size(); ++i) {
      const std::string pad(width[i] - cells[i].size(), ' ');
      out += " " + (i < text_columns ? cells[i] + pad : pad + cells[i]) + " |";
    }
    std::cout << out << "\n";
  };
  line(header);
  std::string rule = "|";
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string dashes(width[i] + 1, '-');
    rule += i < text_columns ? ":" + dashes + "|" : dashes + ":|";
  }
  std::cout << rule << "\n";
  for (const auto& row : rows) line(row);
}

}  // namespace phonebus::bench
