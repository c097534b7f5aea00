// Structured logging: one JSON object per line on stderr, so log shippers in
// Kubernetes need no parsing rules. Thread-safe; a line is written with one
// write() so lines from several threads never interleave.
//
//   log::Info("outbox full", {{"depth", std::to_string(depth)}});
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace phonebus::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

using Field = std::pair<std::string_view, std::string_view>;
using Fields = std::initializer_list<Field>;

// Lines below `level` are dropped. Default: kInfo.
void SetLevel(Level level);
// Parses "debug", "info", "warn", "error"; returns false for anything else.
bool ParseLevel(std::string_view name, Level* level);

// The process name written into every line ("service" field).
void SetService(std::string_view service);

void Write(Level level, std::string_view msg, Fields fields = {});
inline void Debug(std::string_view msg, Fields fields = {}) { Write(Level::kDebug, msg, fields); }
inline void Info(std::string_view msg, Fields fields = {}) { Write(Level::kInfo, msg, fields); }
inline void Warn(std::string_view msg, Fields fields = {}) { Write(Level::kWarn, msg, fields); }
inline void Error(std::string_view msg, Fields fields = {}) { Write(Level::kError, msg, fields); }

// Appends `s` to `out` as a JSON string literal (quotes included).
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace phonebus::log
