// The client side of TLS that both the phone HTTP client and the MQTT client
// need: which certificate authorities a server must chain to, naming the
// server we expect (SNI and the name its certificate must carry), and finding
// out in OpenSSL's words why a server's handshake fails.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <string>

#include "absl/status/status.h"

// clang-format off
#include "net.h"  // first: it fixes Boost 1.74's include order for what follows
#include <boost/asio/ssl/context.hpp>
// clang-format on

namespace phonebus::tls_client {

// Makes `context` trust the CA certificates in `ca_file` (PEM), or the
// system's trust store when `ca_file` is empty. The error says which:
// "cannot load TLS trust anchors from <ca_file>: <OpenSSL's reason>".
absl::Status LoadTrustAnchors(net::ssl::context& context, const std::string& ca_file);

// SNI for a host name (never for an IP address, RFC 6066 section 3) and, when
// `verify`, the name or address the certificate must match. False if OpenSSL
// refuses either.
bool SetPeerName(SSL* ssl, const std::string& host, bool verify);

// A failed handshake's `message`, with OpenSSL's verdict on the peer's
// certificate when that was the cause: "... (self-signed certificate)".
std::string HandshakeFailure(SSL* ssl, std::string message);

// The files a client verifies and identifies itself with (PEM); empty ones
// are not used, and an empty `ca_file` means the system's trust store.
struct Files {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string key_password;
};

// Why a verified TLS handshake with host:port fails ("certificate verify
// failed (self-signed certificate in certificate chain)"), or "" when it
// succeeds, the TCP connection fails or `timeout` passes first. For error
// messages of libraries that do not say (paho): run after their connect
// failed, never on a hot path.
std::string HandshakeError(const std::string& host, unsigned short port, const Files& files,
                           std::chrono::milliseconds timeout);

}  // namespace phonebus::tls_client
