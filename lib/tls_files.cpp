#include "tls_files.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace phonebus {
namespace {

// OpenSSL's reason for the last failure, without file contents.
std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  const char* reason = ERR_reason_error_string(code);
  return reason ? reason : "error " + std::to_string(code);
}

std::string Named(const TlsFiles::File& file) { return file.name + " '" + file.path + "'"; }

}  // namespace

absl::StatusOr<std::unique_ptr<TlsFiles>> TlsFiles::Load(File cert, File key) {
  std::unique_ptr<TlsFiles> files(new TlsFiles(std::move(cert), std::move(key)));
  files->seen_ = files->Stamps();
  auto context = files->Build();
  if (!context.ok()) return context.status();
  files->current_ = std::move(*context);
  return files;
}

std::shared_ptr<net::ssl::context> TlsFiles::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::pair<TlsFiles::Stamp, TlsFiles::Stamp> TlsFiles::Stamps() const {
  auto stamp = [](const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return Stamp{0, 0, 0};
    return Stamp{static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec,
                 static_cast<long long>(st.st_size), static_cast<long long>(st.st_ino)};
  };
  return {stamp(cert_.path), stamp(key_.path)};
}

absl::StatusOr<std::shared_ptr<net::ssl::context>> TlsFiles::Build() const {
  auto context = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  context->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                       net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                       net::ssl::context::no_tlsv1_1 | net::ssl::context::no_compression |
                       net::ssl::context::single_dh_use);
  SSL_CTX* ctx = context->native_handle();
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_.path.c_str()) != 1) {
    return absl::InvalidArgumentError(Named(cert_) + ": cannot use it: " + OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_.path.c_str(), SSL_FILETYPE_PEM) != 1) {
    return absl::InvalidArgumentError(Named(key_) + ": cannot use it: " + OpenSslError());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return absl::InvalidArgumentError(Named(key_) + ": does not match " + Named(cert_));
  }
  return context;
}

TlsFiles::Reload TlsFiles::ReloadIfChanged(std::string* error) {
  const auto stamps = Stamps();
  if (stamps == seen_) return Reload::kUnchanged;
  seen_ = stamps;
  auto context = Build();
  if (!context.ok()) {
    if (error) *error = std::string(context.status().message());
    return Reload::kFailed;
  }
  std::lock_guard lock(mu_);
  current_ = std::move(*context);
  return Reload::kReloaded;
}

}  // namespace phonebus
