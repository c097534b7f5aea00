// What both benchmarks measure with and how they print it: the clock, CPU
// seconds from /proc, latency percentiles, and the Markdown table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace phonebus::bench {

// steady_clock, in nanoseconds.
int64_t NowNs();

// Field `field` (numbered as in proc(5): 14 is utime) of /proc/`pid`/stat, a number from 3 on;
// -1 when unknown (pid <= 0, or gone).
double ProcStatField(int pid, int field);
// CPU seconds (user + system) a process has used so far; -1 when unknown (pid <= 0, or gone).
double ProcessCpuSeconds(int pid);
// The same for this process.
double SelfCpuSeconds();

// The nearest-rank `q` percentile (0 < q <= 1) of latencies in nanoseconds, in milliseconds;
// -1 when there are none. Reorders `ns`.
double Percentile(std::vector<int64_t>& ns, double q);

// `v` with `digits` decimals; "-" for a negative (unknown) value or NaN.
std::string Fixed(double v, int digits);

// A Markdown table, padded so it also reads well as plain text: the first `text_columns`
// columns left-aligned, figures right-aligned.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows, size_t text_columns);

}  // namespace phonebus::bench
