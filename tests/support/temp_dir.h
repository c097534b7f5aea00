// A test's own scratch directory: private (mode 0700, from mkdtemp) under the
// system temp directory ($TMPDIR or /tmp), removed with everything in it when
// the TempDir goes, whether the test passed or not.
#pragma once

#include <string>

namespace phonebus::testing {

class TempDir {
 public:
  // Makes "<temp dir>/phonebus-<what>-XXXXXX"; throws when it cannot.
  explicit TempDir(const std::string& what);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace phonebus::testing
