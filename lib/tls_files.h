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
  // Loads the pair now; the error names the file that failed (never its contents).
  static absl::StatusOr<std::unique_ptr<TlsFiles>> Load(std::string cert_file,
                                                        std::string key_file);

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
  TlsFiles(std::string cert_file, std::string key_file)
      : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}
  absl::StatusOr<std::shared_ptr<net::ssl::context>> Build() const;
  std::pair<Stamp, Stamp> Stamps() const;

  const std::string cert_file_;
  const std::string key_file_;
  std::pair<Stamp, Stamp> seen_{};
  mutable std::mutex mu_;
  std::shared_ptr<net::ssl::context> current_;
};

}  // namespace phonebus
