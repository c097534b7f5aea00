#include "temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

namespace phonebus::testing {

TempDir::TempDir(const std::string& what) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / ("phonebus-" + what + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
  }
  path_ = std::move(tmpl);
}

TempDir::~TempDir() {
  // A destructor must not throw: whatever cannot be removed stays.
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace phonebus::testing
