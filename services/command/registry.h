// The device registry: every phone the commander can address, merged from two
// sources. The inventory file lists devices by hand; the retained DeviceState
// topics teach the rest (a phone that booted or registered is known with its
// IP, model and firmware without any inventory). For a device in both, every
// field the inventory sets wins and the bus fills the others, so an
// administrator can pin an address while the phone's reported IP follows DHCP
// for everyone else. Devices are found by id (a MAC in any spelling) or by a
// SIP account ("1001" or "1001@pbx.example").
//
// Sized for 100,000 devices: a learned device is its retained state's bytes
// plus index entries; everything else is derived when a command needs it.
// Thread-safe: the bus feeds it while gRPC threads read it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "command.h"
#include "command_forms.h"
#include "inventory.h"
#include "phonebus/v1/control.pb.h"
#include "phonebus/v1/event.pb.h"

namespace phonebus::command {

// What a command needs to reach one phone. Holds the password: never log it.
struct Resolved {
  std::string site;
  std::string id;
  std::string host;
  uint16_t port = 0;
  bool https = false;
  bool tls_verify = true;
  std::string username;
  std::string password;
  Target target;
};

class Registry {
 public:
  // Checks every inventory device against the command forms; an entry whose
  // vendor/model has no form, or whose command_form is unknown, is refused
  // with its index named.
  static absl::StatusOr<std::unique_ptr<Registry>> Create(Inventory inventory, CommandForms forms,
                                                          std::string default_site,
                                                          int max_number_length = 32);

  // A retained DeviceState arrived (or changed) on the bus.
  void Learn(const v1::DeviceState& state);
  // The retained state was cleared (empty retained message on its topic).
  void Forget(std::string_view site, std::string_view id);

  // The device named `device` (id or SIP account) at `site` ("" = default site):
  // NOT_FOUND when unknown, INVALID_ARGUMENT when an account names several
  // devices, FAILED_PRECONDITION when it has no address or command form.
  absl::StatusOr<Resolved> Resolve(std::string_view site, std::string_view device) const;

  absl::StatusOr<v1::DeviceInfo> Get(std::string_view site, std::string_view device) const;

  // One page of devices in (site, id) order. `site` "*" lists every site.
  // The token is the last key of the previous page.
  struct Page {
    std::vector<v1::DeviceInfo> devices;
    std::string next_page_token;
  };
  // `visible`, when set, hides the devices of sites it refuses (a client
  // scoped to some sites listing "*").
  absl::StatusOr<Page> List(std::string_view site, size_t page_size, std::string_view page_token,
                            const std::function<bool(std::string_view site)>& visible = {}) const;

  size_t size() const;
  const std::string& default_site() const { return default_site_; }

 private:
  struct Entry {
    const InventoryDevice* inventory = nullptr;  // into inventory_.devices
    std::string learned;                         // serialized DeviceState; empty if none
  };

  Registry(Inventory inventory, CommandForms forms, std::string default_site,
           int max_number_length);

  std::string SiteOf(std::string_view site) const;
  // The key of the entry named by id or account, or an error status.
  absl::StatusOr<std::string> Find(const std::string& site, std::string_view device) const;
  absl::StatusOr<Resolved> ResolveEntry(const std::string& key, const Entry& e) const;
  v1::DeviceInfo Info(const std::string& key, const Entry& e) const;
  absl::StatusOr<Form> FormOf(const Entry& e, const v1::DeviceState& learned) const;
  void IndexAccounts(const std::string& key, const Entry& e, bool add);

  const Inventory inventory_;
  const CommandForms forms_;
  const std::string default_site_;
  const int max_number_length_;

  mutable std::shared_mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;  // "site/id" -> entry, in list order
  // "site/account" and "site/user" -> keys of the entries that have it.
  std::unordered_multimap<std::string, std::string> by_account_;
};

// "yealink" for VENDOR_YEALINK; "" for unspecified.
std::string VendorName(v1::Vendor vendor);
v1::Vendor VendorOf(Family family);

}  // namespace phonebus::command
