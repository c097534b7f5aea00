// A throw-away certificate authority for tests, made with the openssl CLI in
// a temp directory: a CA, a server certificate for 127.0.0.1 / localhost,
// client certificates, and a second, unrelated CA to prove that verification
// refuses what it should.
#pragma once

#include <string>

namespace phonebus::testing {

class Pki {
 public:
  Pki();  // the CA and the server certificate; throws when openssl fails
  ~Pki();
  Pki(const Pki&) = delete;
  Pki& operator=(const Pki&) = delete;

  std::string ca_file() const { return dir_ + "/ca.crt"; }
  std::string server_cert() const { return dir_ + "/server.crt"; }
  std::string server_key() const { return dir_ + "/server.key"; }
  // A CA that signed nothing here: trusting only it must fail.
  std::string other_ca_file() const { return dir_ + "/other-ca.crt"; }

  // A client certificate named `name` (its CN) signed by the CA; returns the
  // certificate's path, the key is KeyOf(path).
  std::string Client(const std::string& name);
  // A client certificate for `name` signed by the other CA.
  std::string ForeignClient(const std::string& name);
  static std::string KeyOf(const std::string& cert) {
    return cert.substr(0, cert.size() - 4) + ".key";
  }
  const std::string& dir() const { return dir_; }

 private:
  void Issue(const std::string& ca, const std::string& name, const std::string& extensions);
  std::string dir_;
};

// The whole file as a string ("" when unreadable).
std::string ReadAll(const std::string& path);

}  // namespace phonebus::testing
