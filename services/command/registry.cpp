#include "registry.h"

#include <arpa/inet.h>

#include <algorithm>
#include <mutex>

#include "absl/status/status.h"
#include "topics.h"
#include "validate.h"

namespace phonebus::command {
namespace {

std::string Key(std::string_view site, std::string_view id) {
  std::string key(site);
  key += '/';
  key += id;
  return key;
}

constexpr size_t kMaxNameBytes = 256;

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string_view IdOf(std::string_view key) { return key.substr(key.find('/') + 1); }
std::string_view SiteOfKey(std::string_view key) { return key.substr(0, key.find('/')); }

// "1001@pbx.example" is found by itself and by "1001".
std::vector<std::string> AccountNames(std::string_view account) {
  std::vector<std::string> names{std::string(account)};
  if (const auto at = account.find('@'); at != std::string_view::npos && at > 0) {
    names.emplace_back(account.substr(0, at));
  }
  return names;
}

v1::DeviceState Parse(const std::string& bytes) {
  v1::DeviceState state;
  if (!bytes.empty()) state.ParseFromString(bytes);
  return state;
}

std::vector<std::string> AccountsOf(const InventoryDevice* inv, const v1::DeviceState& learned) {
  std::vector<std::string> out;
  if (inv) out = inv->accounts;
  for (const auto& r : learned.accounts()) {
    if (!r.account().empty() && std::find(out.begin(), out.end(), r.account()) == out.end()) {
      out.push_back(r.account());
    }
  }
  return out;
}

}  // namespace

std::string VendorName(v1::Vendor vendor) {
  switch (vendor) {
    case v1::VENDOR_YEALINK:
      return "yealink";
    case v1::VENDOR_SNOM:
      return "snom";
    case v1::VENDOR_SOFTPHONE:
      return "softphone";
    default:
      return "";
  }
}

v1::Vendor VendorOf(Family family) {
  switch (family) {
    case Family::kYealink:
      return v1::VENDOR_YEALINK;
    case Family::kSnom:
      return v1::VENDOR_SNOM;
    case Family::kSoftphone:
      return v1::VENDOR_SOFTPHONE;
  }
  return v1::VENDOR_UNSPECIFIED;
}

Registry::Registry(Inventory inventory, CommandForms forms, std::string default_site,
                   int max_number_length)
    : inventory_(std::move(inventory)),
      forms_(std::move(forms)),
      default_site_(std::move(default_site)),
      max_number_length_(max_number_length) {}

absl::StatusOr<std::unique_ptr<Registry>> Registry::Create(Inventory inventory, CommandForms forms,
                                                           std::string default_site,
                                                           int max_number_length) {
  std::unique_ptr<Registry> r(new Registry(std::move(inventory), std::move(forms),
                                           std::move(default_site), max_number_length));
  for (size_t i = 0; i < r->inventory_.devices.size(); ++i) {
    const InventoryDevice& d = r->inventory_.devices[i];
    const std::string where = "devices[" + std::to_string(i) + "]";
    if (!d.command_form.empty()) {
      if (auto f = CommandForms::Named(d.command_form); !f.ok()) {
        return absl::InvalidArgumentError(where +
                                          ".command_form: " + std::string(f.status().message()));
      }
    } else if (auto f = r->forms_.Choose(d.vendor, d.model, d.firmware); !f.ok()) {
      return absl::InvalidArgumentError(where + ".vendor: " + std::string(f.status().message()));
    }
    Entry e;
    e.inventory = &d;
    const std::string key = Key(d.site, d.id);
    r->IndexAccounts(key, e, true);
    r->entries_.emplace(key, std::move(e));
  }
  return r;
}

std::string Registry::SiteOf(std::string_view site) const {
  return site.empty() ? default_site_ : std::string(site);
}

void Registry::IndexAccounts(const std::string& key, const Entry& e, bool add) {
  const std::string site(SiteOfKey(key));
  for (const auto& account : AccountsOf(e.inventory, Parse(e.learned))) {
    for (const auto& name : AccountNames(account)) {
      const std::string k = Key(site, name);
      auto [first, last] = by_account_.equal_range(k);
      const auto it = std::find_if(first, last, [&](const auto& kv) { return kv.second == key; });
      if (add && it == last) by_account_.emplace(k, key);
      if (!add && it != last) by_account_.erase(it);
    }
  }
}

void Registry::Learn(const v1::DeviceState& state) {
  const std::string site = SiteOf(state.site());
  const std::string mac = topics::NormalizeMac(state.device().id());
  const std::string key = Key(site, mac.empty() ? state.device().id() : mac);
  std::string bytes = state.SerializeAsString();
  std::unique_lock lock(mu_);
  auto [it, fresh] = entries_.try_emplace(key);
  if (!fresh) IndexAccounts(key, it->second, false);
  it->second.learned = std::move(bytes);
  IndexAccounts(key, it->second, true);
}

void Registry::Forget(std::string_view site, std::string_view id) {
  const std::string key = Key(SiteOf(site), id);
  std::unique_lock lock(mu_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return;
  IndexAccounts(key, it->second, false);
  it->second.learned.clear();
  if (it->second.inventory) {
    IndexAccounts(key, it->second, true);
  } else {
    entries_.erase(it);
  }
}

absl::StatusOr<std::string> Registry::Find(const std::string& site, std::string_view device) const {
  if (device.empty()) return absl::InvalidArgumentError("device: must not be empty");
  if (device.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError("device: longer than 256 bytes");
  }
  if (site.size() > kMaxNameBytes || site.find_first_of("+#/") != std::string::npos) {
    return absl::InvalidArgumentError("site: not a site name (at most 256 bytes, no + # /)");
  }
  const std::string mac = topics::NormalizeMac(device);
  if (std::string key = Key(site, mac.empty() ? device : mac); entries_.count(key)) return key;
  auto [first, last] = by_account_.equal_range(Key(site, device));
  if (first == last) {
    return absl::NotFoundError("device " + Quote(device) + " is not known at site " + Quote(site) +
                               ": no inventory entry or reported state has this id or SIP "
                               "account");
  }
  std::vector<std::string> ids;
  for (auto it = first; it != last; ++it) ids.emplace_back(IdOf(it->second));
  if (ids.size() > 1) {
    std::sort(ids.begin(), ids.end());
    std::string list;
    for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
    return absl::InvalidArgumentError("device: account " + Quote(device) +
                                      " belongs to several devices (" + list +
                                      "); name the device id or the full account");
  }
  return first->second;
}

absl::StatusOr<Form> Registry::FormOf(const Entry& e, const v1::DeviceState& learned) const {
  const InventoryDevice* inv = e.inventory;
  if (inv && !inv->command_form.empty()) return CommandForms::Named(inv->command_form);
  const auto pick = [](const std::string& pinned, const std::string& seen) {
    return pinned.empty() ? seen : pinned;
  };
  const std::string vendor = pick(inv ? inv->vendor : "", VendorName(learned.device().vendor()));
  return forms_.Choose(vendor, pick(inv ? inv->model : "", learned.device().model()),
                       pick(inv ? inv->firmware : "", learned.device().firmware()));
}

absl::StatusOr<Resolved> Registry::ResolveEntry(const std::string& key, const Entry& e) const {
  const v1::DeviceState learned = Parse(e.learned);
  const InventoryDevice* inv = e.inventory;
  Resolved r;
  r.site = std::string(SiteOfKey(key));
  r.id = std::string(IdOf(key));
  auto form = FormOf(e, learned);
  if (!form.ok()) return form.status();
  r.target.form = *std::move(form);
  r.target.max_number_length = max_number_length_;
  const auto accounts = AccountsOf(inv, learned);
  if (!accounts.empty()) r.target.account = accounts.front();
  if (learned.has_dnd()) r.target.dnd = learned.dnd();

  const std::string vendor = inv ? inv->vendor : VendorName(learned.device().vendor());
  const DeviceDefaults* defaults = inventory_.DefaultsFor(r.site, vendor);
  if (inv) {
    r.host = inv->host;
    r.port = inv->port;
    r.https = inv->https;
    r.tls_verify = inv->tls_verify;
    r.username = inv->username;
    r.password = inv->password;
  } else if (defaults) {
    r.https = defaults->https;
    r.tls_verify = defaults->tls_verify;
  }
  // What an inventory entry leaves unset comes from the defaults too.
  if (defaults) {
    if (r.username.empty()) r.username = defaults->username, r.password = defaults->password;
    if (r.port == 0) r.port = defaults->port;
  }
  if (r.host.empty()) {
    r.host = learned.device().ip();
    // The phone reports this itself: take only an IP address, never a name
    // that would send credentials wherever DNS points.
    if (!r.host.empty() && !IsIpLiteral(r.host)) {
      return absl::FailedPreconditionError(
          "device " + r.id + " reported the address " + Quote(r.host) +
          ", which is not an IP address; give it an \"address\" in the inventory");
    }
  }
  if (r.port == 0) r.port = r.https ? 443 : 80;
  if (r.host.empty()) {
    return absl::FailedPreconditionError(
        "device " + r.id +
        " has no address yet: give it an \"address\" in the inventory, or "
        "let the phone report its IP through an Action URL");
  }
  return r;
}

absl::StatusOr<Resolved> Registry::Resolve(std::string_view site, std::string_view device) const {
  const std::string s = SiteOf(site);
  std::shared_lock lock(mu_);
  auto key = Find(s, device);
  if (!key.ok()) return key.status();
  return ResolveEntry(*key, entries_.find(*key)->second);
}

v1::DeviceInfo Registry::Info(const std::string& key, const Entry& e) const {
  v1::DeviceInfo info;
  const v1::DeviceState learned = Parse(e.learned);
  const InventoryDevice* inv = e.inventory;
  info.set_site(std::string(SiteOfKey(key)));
  info.set_id(std::string(IdOf(key)));
  info.set_source(inv && !e.learned.empty() ? v1::DEVICE_SOURCE_BOTH
                  : inv                     ? v1::DEVICE_SOURCE_INVENTORY
                                            : v1::DEVICE_SOURCE_LEARNED);
  info.set_brand(inv ? inv->vendor : VendorName(learned.device().vendor()));
  info.set_model(inv && !inv->model.empty() ? inv->model : learned.device().model());
  info.set_firmware(inv && !inv->firmware.empty() ? inv->firmware : learned.device().firmware());
  if (auto form = FormOf(e, learned); form.ok()) {
    info.set_vendor(VendorOf(form->family));
    info.set_command_form(form->name);
  } else {
    info.set_vendor(learned.device().vendor());
  }
  for (const auto& a : AccountsOf(inv, learned)) info.add_accounts(a);
  if (auto r = ResolveEntry(key, e); r.ok()) {
    const bool v6 = r->host.find(':') != std::string::npos;
    info.set_address((v6 ? "[" + r->host + "]" : r->host) + ":" + std::to_string(r->port));
    info.set_https(r->https);
    info.set_has_credentials(!r->username.empty());
  }
  if (!e.learned.empty()) {
    *info.mutable_state() = learned;
    *info.mutable_last_seen() = learned.last_seen();
  }
  return info;
}

absl::StatusOr<v1::DeviceInfo> Registry::Get(std::string_view site, std::string_view device) const {
  const std::string s = SiteOf(site);
  std::shared_lock lock(mu_);
  auto key = Find(s, device);
  if (!key.ok()) return key.status();
  return Info(*key, entries_.find(*key)->second);
}

absl::StatusOr<Registry::Page> Registry::List(
    std::string_view site, size_t page_size, std::string_view page_token,
    const std::function<bool(std::string_view site)>& visible) const {
  const bool all = site == "*";
  const std::string prefix = all ? "" : Key(SiteOf(site), "");
  Page page;
  std::shared_lock lock(mu_);
  auto it = entries_.lower_bound(prefix);
  if (!page_token.empty()) {
    if (!all && page_token.substr(0, prefix.size()) != prefix) {
      return absl::InvalidArgumentError("page_token: not from a listing of this site");
    }
    it = entries_.upper_bound(page_token);
  }
  const auto skip = [&](const std::string& key) { return visible && !visible(SiteOfKey(key)); };
  for (; it != entries_.end() && page.devices.size() < page_size; ++it) {
    if (!all && it->first.compare(0, prefix.size(), prefix) != 0) break;
    if (skip(it->first)) continue;
    page.devices.push_back(Info(it->first, it->second));
  }
  while (it != entries_.end() && skip(it->first)) ++it;  // no empty last page
  const bool more =
      it != entries_.end() && (all || it->first.compare(0, prefix.size(), prefix) == 0);
  if (more && !page.devices.empty()) {
    page.next_page_token = Key(page.devices.back().site(), page.devices.back().id());
  }
  return page;
}

size_t Registry::size() const {
  std::shared_lock lock(mu_);
  return entries_.size();
}

}  // namespace phonebus::command
