#include "auth.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace phonebus::command {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    const size_t start = i;
    while (i < line.size() && !IsSpace(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ValidSite(std::string_view site) {
  return !site.empty() && site.find_first_of("+#/*,") == std::string_view::npos;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

bool ApiClient::MayUse(std::string_view site) const {
  return all_sites || std::binary_search(sites.begin(), sites.end(), site);
}

std::string ApiClient::SitesText() const {
  if (all_sites) return "every site";
  std::string out;
  for (const auto& s : sites) out += (out.empty() ? "" : ", ") + s;
  return out;
}

absl::StatusOr<Tokens> Tokens::Parse(std::string_view text) {
  Tokens tokens;
  std::set<std::string, std::less<>> names;
  std::set<SecretDigest> hashes;
  size_t number = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++number;
    if (const auto hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    const auto fields = Fields(line);
    if (fields.empty()) continue;
    // Never quote the line: a mistaken file may hold a plain token.
    const std::string where = "line " + std::to_string(number) + ": ";
    if (fields.size() != 3) {
      return absl::InvalidArgumentError(where + "expected 3 fields (NAME SITES SHA256), got " +
                                        std::to_string(fields.size()));
    }
    Entry e;
    e.client.name = std::string(fields[0]);
    if (!names.insert(e.client.name).second) {
      return absl::InvalidArgumentError(where + "client '" + e.client.name + "' listed twice");
    }
    if (fields[1] == "*") {
      e.client.all_sites = true;
    } else {
      std::string_view sites = fields[1];
      while (true) {
        const size_t comma = sites.find(',');
        const std::string_view site = sites.substr(0, comma);
        if (!ValidSite(site)) {
          return absl::InvalidArgumentError(
              where + "SITES must be '*' or site names separated by commas (no '+', '#', '/')");
        }
        e.client.sites.emplace_back(site);
        if (comma == std::string_view::npos) break;
        sites.remove_prefix(comma + 1);
      }
      std::sort(e.client.sites.begin(), e.client.sites.end());
      e.client.sites.erase(std::unique(e.client.sites.begin(), e.client.sites.end()),
                           e.client.sites.end());
    }
    const std::string_view hex = fields[2];
    bool is_hex = hex.size() == 64;
    for (size_t i = 0; is_hex && i < 32; ++i) {
      const int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
      is_hex = hi >= 0 && lo >= 0;
      e.hash[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    if (!is_hex) {
      return absl::InvalidArgumentError(
          where +
          "SHA256 must be the token's SHA-256 as 64 hex digits (printf %s \"$TOKEN\" | "
          "sha256sum), never the token itself");
    }
    if (!hashes.insert(e.hash).second) {
      return absl::InvalidArgumentError(where + "the same token as an earlier line");
    }
    tokens.entries_.push_back(std::move(e));
  }
  if (tokens.entries_.empty()) {
    return absl::InvalidArgumentError("no clients: every call would be refused");
  }
  return tokens;
}

absl::StatusOr<Tokens> Tokens::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(path + ": cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = Parse(ss.str());
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(path + ": " + std::string(parsed.status().message()));
  }
  return parsed;
}

const ApiClient* Tokens::Find(std::string_view token) const {
  const SecretDigest presented = Sha256(token);
  const ApiClient* found = nullptr;
  for (const auto& e : entries_) {  // no early exit
    if (SameDigest(e.hash, presented)) found = &e.client;
  }
  return found;
}

Authorizer Authorizer::AllowAll() { return Authorizer(); }

Authorizer::Authorizer(Tokens tokens) : enabled_(true), tokens_(std::move(tokens)) {}

absl::StatusOr<const ApiClient*> Authorizer::Authenticate(
    const std::vector<std::string_view>& authorization) const {
  if (!enabled_) return &anyone_;
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "this commander requires a bearer token: send the metadata 'authorization: Bearer "
        "<token>' (phonebus CLI: --token-file or PHONEBUS_TOKEN)");
  }
  if (authorization.size() > 1) {
    return absl::UnauthenticatedError("more than one 'authorization' metadata entry");
  }
  std::string_view value = authorization.front();
  const size_t space = value.find(' ');
  if (space == std::string_view::npos || !EqualsIgnoreCase(value.substr(0, space), "bearer")) {
    return absl::UnauthenticatedError("'authorization' must be 'Bearer <token>'");
  }
  value.remove_prefix(space + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return absl::UnauthenticatedError("'authorization' has an empty token");
  const ApiClient* client = tokens_.Find(value);
  if (client == nullptr) {
    return absl::UnauthenticatedError(
        "unknown token: not in this commander's --tokens-file (or revoked)");
  }
  return client;
}

absl::StatusOr<const ApiClient*> Authorizer::Authorize(
    const std::vector<std::string_view>& authorization, std::string_view site) const {
  auto client = Authenticate(authorization);
  if (!client.ok() || (*client)->MayUse(site)) return client;
  return absl::PermissionDeniedError("client '" + (*client)->name + "' may not act on site '" +
                                     std::string(site) + "' (its sites: " + (*client)->SitesText() +
                                     ")");
}

}  // namespace phonebus::command
