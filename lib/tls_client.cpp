#include "tls_client.h"

// clang-format off
#include "net.h"  // first: it fixes Boost 1.74's include order for what follows
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
// clang-format on
#include <openssl/x509_vfy.h>

#include <optional>

#include "string_util.h"

namespace phonebus::tls_client {
namespace {

namespace ssl = net::ssl;

bool IsIpLiteral(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// A client context for `files`; nullopt if one cannot be loaded (start-up
// checks name that file, so the handshake has nothing to add).
std::optional<ssl::context> Context(const Files& files) {
  ssl::context context(ssl::context::tls_client);
  if (!LoadTrustAnchors(context, files.ca_file).ok()) return std::nullopt;
  beast::error_code ec;
  if (!files.cert_file.empty()) context.use_certificate_chain_file(files.cert_file, ec);
  if (!ec && !files.key_file.empty()) {
    // Asked for while the key is read, below, and never after.
    context.set_password_callback(
        [&files](std::size_t, ssl::context::password_purpose) { return files.key_password; }, ec);
    if (!ec) context.use_private_key_file(files.key_file, ssl::context::pem, ec);
  }
  if (ec) return std::nullopt;
  context.set_verify_mode(ssl::verify_peer);
  return context;
}

}  // namespace

absl::Status LoadTrustAnchors(ssl::context& context, const std::string& ca_file) {
  beast::error_code ec;
  if (ca_file.empty()) {
    context.set_default_verify_paths(ec);
  } else {
    context.load_verify_file(ca_file, ec);
  }
  if (!ec) return absl::OkStatus();
  return absl::FailedPreconditionError(strings::Cat("cannot load TLS trust anchors",
                                                    ca_file.empty() ? "" : " from ", ca_file, ": ",
                                                    ec.message()));
}

bool SetPeerName(SSL* ssl, const std::string& host, bool verify) {
  const bool ip = IsIpLiteral(host);
  if (!ip && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return false;
  if (!verify) return true;
  return (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str())
             : SSL_set1_host(ssl, host.c_str())) == 1;
}

std::string HandshakeFailure(SSL* ssl, std::string message) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK)
    message += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
  return message;
}

std::string HandshakeError(const std::string& host, unsigned short port, const Files& files,
                           std::chrono::milliseconds timeout) {
  auto context = Context(files);
  if (!context) return "";
  net::io_context io;
  beast::ssl_stream<beast::tcp_stream> stream(io, *context);
  if (!SetPeerName(stream.native_handle(), host, true)) return "";
  std::string error;
  const auto on_handshake = [&](beast::error_code ec) {
    if (ec) error = HandshakeFailure(stream.native_handle(), ec.message());
  };
  const auto on_connect = [&](beast::error_code ec, const tcp::endpoint&) {
    if (!ec) stream.async_handshake(ssl::stream_base::client, on_handshake);
  };
  tcp::resolver resolver(io);
  resolver.async_resolve(host, std::to_string(port),
                         [&](beast::error_code ec, const tcp::resolver::results_type& to) {
                           if (!ec) beast::get_lowest_layer(stream).async_connect(to, on_connect);
                         });
  io.run_for(timeout);
  return error;
}

}  // namespace phonebus::tls_client
