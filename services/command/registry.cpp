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

// Fields of a learned state that equal the entry's key are not stored twice.
constexpr uint8_t kSiteElided = 1;
constexpr uint8_t kIdElided = 2;
constexpr uint8_t kMacElided = 4;  // the MAC is the id, as adapters report it

// The inventory's value of `field` where it sets one, else what the phone reported.
const std::string& Pick(const InventoryDevice* inv, const std::string InventoryDevice::*field,
                        const std::string& seen) {
  return inv && !(inv->*field).empty() ? inv->*field : seen;
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

uint64_t Registry::DefaultNameHash(std::string_view site, std::string_view name) {
  return std::hash<std::string>{}(Key(site, name));
}

Registry::Registry(Inventory inventory, CommandForms forms, std::string default_site,
                   int max_number_length, NameHash name_hash, cidr::AllowList phone_networks)
    : inventory_(std::move(inventory)),
      forms_(std::move(forms)),
      default_site_(std::move(default_site)),
      max_number_length_(max_number_length),
      name_hash_(name_hash),
      phone_networks_(std::move(phone_networks)) {}

absl::StatusOr<std::unique_ptr<Registry>> Registry::Create(
    Inventory inventory, CommandForms forms, std::string default_site, int max_number_length,
    NameHash name_hash, const std::vector<std::string>& phone_networks) {
  auto networks =
      cidr::AllowList::Parse(phone_networks.empty() ? cidr::LocalRanges() : phone_networks);
  if (!networks.ok()) return networks.status();
  std::unique_ptr<Registry> r(new Registry(std::move(inventory), std::move(forms),
                                           std::move(default_site), max_number_length, name_hash,
                                           *std::move(networks)));
  r->pinned_forms_.resize(r->inventory_.devices.size());
  for (size_t i = 0; i < r->inventory_.devices.size(); ++i) {
    const InventoryDevice& d = r->inventory_.devices[i];
    const std::string where = "devices[" + std::to_string(i) + "]";
    if (!d.command_form.empty()) {
      auto f = CommandForms::Named(d.command_form);
      if (!f.ok()) {
        return absl::InvalidArgumentError(where +
                                          ".command_form: " + std::string(f.status().message()));
      }
      r->pinned_forms_[i] = *std::move(f);
    } else if (auto f = r->forms_.Choose(d.vendor, d.model, d.firmware); !f.ok()) {
      return absl::InvalidArgumentError(where + ".vendor: " + std::string(f.status().message()));
    }
    const auto it = r->entries_.try_emplace(Key(d.site, d.id)).first;  // ids are unique
    it->second.inventory = &d;
    r->Store(it, nullptr);
  }
  return r;
}

std::string Registry::SiteOf(std::string_view site) const {
  return site.empty() ? default_site_ : std::string(site);
}

v1::DeviceState Registry::Learned(const Entries::value_type& entry) {
  v1::DeviceState state;
  const Entry& e = entry.second;
  if (!e.learned) return state;
  state.ParseFromArray(e.learned.get(), static_cast<int>(e.learned_size));
  if (e.elided & kSiteElided) state.set_site(std::string(SiteOfKey(entry.first)));
  if (e.elided & kIdElided) state.mutable_device()->set_id(std::string(IdOf(entry.first)));
  if (e.elided & kMacElided) state.mutable_device()->set_mac(state.device().id());
  return state;
}

void Registry::IndexAccounts(EntryRef entry, const v1::DeviceState& learned, bool add) {
  const std::string_view site = SiteOfKey(entry->first);
  for (const auto& account : AccountsOf(entry->second.inventory, learned)) {
    for (const auto& name : AccountNames(account)) {
      const uint64_t hash = name_hash_(site, name);
      auto [first, last] = by_name_.equal_range(hash);
      const auto it = std::find_if(first, last, [&](const auto& kv) { return kv.second == entry; });
      // Two names of one device may share a hash: one record serves both.
      if (add && it == last) by_name_.emplace(hash, entry);
      if (!add && it != last) by_name_.erase(it);
    }
  }
}

void Registry::Store(Entries::iterator it, v1::DeviceState* learned) {
  Entry& e = it->second;
  IndexAccounts(&*it, Learned(*it), false);
  e.learned.reset();
  e.learned_size = 0;
  e.elided = 0;
  if (learned) {
    // Choose from the whole state, then keep it without what the key already says.
    e.form = ChooseForm(e.inventory, *learned);
    IndexAccounts(&*it, *learned, true);
    v1::Device& device = *learned->mutable_device();
    if (learned->site() == SiteOfKey(it->first)) e.elided |= kSiteElided, learned->clear_site();
    if (device.id() == IdOf(it->first)) {
      if (device.mac() == device.id()) e.elided |= kMacElided, device.clear_mac();
      e.elided |= kIdElided, device.clear_id();
    }
    const std::string bytes = learned->SerializeAsString();
    e.learned_size = static_cast<uint32_t>(bytes.size());
    e.learned = std::make_unique_for_overwrite<char[]>(bytes.size());
    std::copy(bytes.begin(), bytes.end(), e.learned.get());
  } else {
    e.form = ChooseForm(e.inventory, v1::DeviceState());
    IndexAccounts(&*it, v1::DeviceState(), true);
  }
}

// A learned device's key: a MAC id in any spelling is one device, for Learn and Forget alike.
std::string Registry::LearnedKey(std::string_view site, std::string_view id) const {
  const std::string mac = topics::NormalizeMac(id);
  return Key(SiteOf(site), mac.empty() ? id : std::string_view(mac));
}

void Registry::Learn(v1::DeviceState state) {
  const std::string key = LearnedKey(state.site(), state.device().id());
  std::unique_lock lock(mu_);
  Store(entries_.try_emplace(key).first, &state);
}

void Registry::Forget(std::string_view site, std::string_view id) {
  const std::string key = LearnedKey(site, id);
  std::unique_lock lock(mu_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return;
  if (it->second.inventory) {
    Store(it, nullptr);
  } else {
    IndexAccounts(&*it, Learned(*it), false);
    entries_.erase(it);
  }
}

bool Registry::HasName(const Entries::value_type& entry, std::string_view name) const {
  for (const auto& account : AccountsOf(entry.second.inventory, Learned(entry))) {
    for (const auto& n : AccountNames(account)) {
      if (n == name) return true;
    }
  }
  return false;
}

absl::StatusOr<Registry::EntryRef> Registry::Find(const std::string& site,
                                                  std::string_view device) const {
  if (device.empty()) return absl::InvalidArgumentError("device: must not be empty");
  if (device.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError("device: longer than 256 bytes");
  }
  if (site.size() > kMaxNameBytes || site.find_first_of("+#/") != std::string::npos) {
    return absl::InvalidArgumentError("site: not a site name (at most 256 bytes, no + # /)");
  }
  const std::string mac = topics::NormalizeMac(device);
  if (const auto it = entries_.find(Key(site, mac.empty() ? device : mac)); it != entries_.end()) {
    return &*it;
  }
  // The index knows only hashes: a candidate counts if it really has this account.
  std::vector<EntryRef> found;
  auto [first, last] = by_name_.equal_range(name_hash_(site, device));
  for (auto it = first; it != last; ++it) {
    if (SiteOfKey(it->second->first) == site && HasName(*it->second, device)) {
      found.push_back(it->second);
    }
  }
  if (found.empty()) {
    return absl::NotFoundError("device " + Quote(device) + " is not known at site " + Quote(site) +
                               ": no inventory entry or reported state has this id or SIP "
                               "account");
  }
  if (found.size() > 1) {
    std::vector<std::string> ids;
    ids.reserve(found.size());
    for (EntryRef e : found) ids.emplace_back(IdOf(e->first));
    std::sort(ids.begin(), ids.end());
    std::string list;
    for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
    return absl::InvalidArgumentError("device: account " + Quote(device) +
                                      " belongs to several devices (" + list +
                                      "); name the device id or the full account");
  }
  return found.front();
}

const Form* Registry::ChooseForm(const InventoryDevice* inv, const v1::DeviceState& learned) const {
  if (inv && !inv->command_form.empty()) {
    return &pinned_forms_[static_cast<size_t>(inv - inventory_.devices.data())];
  }
  return forms_.Find(Pick(inv, &InventoryDevice::vendor, VendorName(learned.device().vendor())),
                     Pick(inv, &InventoryDevice::model, learned.device().model()),
                     Pick(inv, &InventoryDevice::firmware, learned.device().firmware()));
}

absl::StatusOr<Form> Registry::FormOf(const Entry& e, const v1::DeviceState& learned) const {
  if (e.form) return *e.form;
  // No form fits: Choose says why.
  const InventoryDevice* inv = e.inventory;
  return forms_.Choose(Pick(inv, &InventoryDevice::vendor, VendorName(learned.device().vendor())),
                       Pick(inv, &InventoryDevice::model, learned.device().model()),
                       Pick(inv, &InventoryDevice::firmware, learned.device().firmware()));
}

absl::StatusOr<Resolved> Registry::ResolveEntry(const Entries::value_type& entry,
                                                const v1::DeviceState& learned) const {
  const std::string& key = entry.first;
  const Entry& e = entry.second;
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
    r.username = inv->username;
    r.password = inv->password;
  }
  // What an inventory entry leaves unset comes from the defaults: HTTPS above
  // all, or their credentials would go out in clear.
  r.https = inv && inv->https ? *inv->https : defaults && defaults->https;
  r.tls_verify = inv && inv->tls_verify ? *inv->tls_verify : !defaults || defaults->tls_verify;
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
    // Whoever can fire an Action URL names this address: credentials go only
    // where phones may be.
    if (!r.host.empty() && !phone_networks_.Allows(r.host)) {
      return absl::FailedPreconditionError(
          "device " + r.id + " reported the address " + r.host +
          ", outside --phone-networks; give it an \"address\" in the inventory, or add its "
          "network to --phone-networks");
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
  auto entry = Find(s, device);
  if (!entry.ok()) return entry.status();
  return ResolveEntry(**entry, Learned(**entry));
}

v1::DeviceInfo Registry::Info(const Entries::value_type& entry) const {
  const std::string& key = entry.first;
  const Entry& e = entry.second;
  v1::DeviceInfo info;
  const v1::DeviceState learned = Learned(entry);
  const InventoryDevice* inv = e.inventory;
  info.set_site(std::string(SiteOfKey(key)));
  info.set_id(std::string(IdOf(key)));
  info.set_source(inv && e.learned ? v1::DEVICE_SOURCE_BOTH
                  : inv            ? v1::DEVICE_SOURCE_INVENTORY
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
  if (auto r = ResolveEntry(entry, learned); r.ok()) {
    const bool v6 = r->host.find(':') != std::string::npos;
    info.set_address((v6 ? "[" + r->host + "]" : r->host) + ":" + std::to_string(r->port));
    info.set_https(r->https);
    info.set_has_credentials(!r->username.empty());
  }
  if (e.learned) {
    *info.mutable_state() = learned;
    *info.mutable_last_seen() = learned.last_seen();
  }
  return info;
}

absl::StatusOr<v1::DeviceInfo> Registry::Get(std::string_view site, std::string_view device) const {
  const std::string s = SiteOf(site);
  std::shared_lock lock(mu_);
  auto entry = Find(s, device);
  if (!entry.ok()) return entry.status();
  return Info(**entry);
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
    page.devices.push_back(Info(*it));
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
