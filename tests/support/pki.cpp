#include "pki.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace phonebus::testing {
namespace {

// Paths are our own temp directory's: no quoting needed beyond single quotes.
void Openssl(const std::string& args) {
  const std::string command = "openssl " + args + " >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

// P-256 keys: generated in milliseconds, unlike RSA.
const char kNewKey[] = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

}  // namespace

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Pki::Pki() {
  char tmpl[] = "/tmp/phonebus-pki-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  for (const char* ca : {"ca", "other-ca"}) {
    Openssl(std::string("req -x509 ") + kNewKey + " -days 2 -subj /CN=phonebus-test-" + ca +
            " -keyout " + dir_ + "/" + ca + ".key -out " + dir_ + "/" + ca + ".crt");
  }
  Issue("ca", "server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
}

Pki::~Pki() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string Pki::Client(const std::string& name) {
  Issue("ca", name, "extendedKeyUsage=clientAuth\n");
  return dir_ + "/" + name + ".crt";
}

std::string Pki::ForeignClient(const std::string& name) {
  Issue("other-ca", name, "extendedKeyUsage=clientAuth\n");
  return dir_ + "/" + name + ".crt";
}

void Pki::Issue(const std::string& ca, const std::string& name, const std::string& extensions) {
  const std::string base = dir_ + "/" + name;
  std::ofstream(base + ".ext") << extensions;
  Openssl(std::string("req ") + kNewKey + " -subj /CN=" + name + " -keyout " + base + ".key -out " +
          base + ".csr");
  Openssl("x509 -req -days 2 -in " + base + ".csr -CA " + dir_ + "/" + ca + ".crt -CAkey " + dir_ +
          "/" + ca + ".key -CAcreateserial -extfile " + base + ".ext -out " + base + ".crt");
}

}  // namespace phonebus::testing
