// A server's TLS certificate and key, read from files and read again when the
// files change (certificate renewal without a restart). Connections keep the
// context they started with; new ones get the newest good one. A pair that
// fails to load (unreadable, malformed, key not matching the certificate) is
// an error at start-up and, on a later change, is reported and the old pair
// kept.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <sys/stat.h>

#include <memory>
#include <mutex>
#include <string>

// clang-format off
#include "net.h"  // first: it fixes Boost 1.74's include order for what follows
#include <boost/asio/ssl/context.hpp>
// clang-format on

namespace phonebus {

class TlsFiles {
 public:
  // Where each file comes from, and the name errors give it (the setting that
  // chose it, so that a start-up error names what to fix).
  struct File {
    std::string path;
    std::string name;
  };
  // Loads the pair now; the error names the file that failed (never its contents).
  static absl::StatusOr<std::unique_ptr<TlsFiles>> Load(File cert, File key);

  std::shared_ptr<net::ssl::context> Current() const;

  enum class Reload { kUnchanged, kReloaded, kFailed };
  // Re-reads the pair when either file's modification time, size or inode
  // changed since the last attempt. On kFailed, `error` says why and the
  // current context stays; the same files are not tried again until they
  // change once more.
  Reload ReloadIfChanged(std::string* error);

 private:
  struct Stamp {
    bool operator==(const Stamp&) const = default;
    long long mtime_ns, size, inode;
  };
  TlsFiles(File cert, File key) : cert_(std::move(cert)), key_(std::move(key)) {}
  absl::StatusOr<std::shared_ptr<net::ssl::context>> Build() const;
  std::pair<Stamp, Stamp> Stamps() const;

  const File cert_;
  const File key_;
  std::pair<Stamp, Stamp> seen_{};
  mutable std::mutex mu_;
  std::shared_ptr<net::ssl::context> current_;
};

}  // namespace phonebus
