// The device registry: every phone the commander can address, merged from two
// sources. The inventory file lists devices by hand; the retained DeviceState
// topics teach the rest (a phone that booted or registered is known with its
// IP, model and firmware without any inventory). For a device in both, every
// field the inventory sets wins and the bus fills the others, so an
// administrator can pin an address while the phone's reported IP follows DHCP
// for everyone else. Devices are found by id (a MAC in any spelling) or by a
// SIP account ("1001" or "1001@pbx.example").
//
// Memory: sized for 100,000 learned devices in a few tens of MB. Per device:
//  - one std::map node keyed "site/id" (stable: the index points at it), holding
//    the inventory entry's address, the command form chosen when the state
//    last changed, and the retained state's bytes without the fields the key
//    already holds (site, device id, and the MAC when it is the id);
//  - one 16-byte index record per name it can be found by ("1001@pbx.example"
//    and "1001"): a 64-bit hash of "site/name" and the map node. Names are not
//    stored a second time: every candidate is checked against the node's own
//    accounts, so a hash collision can never resolve the wrong phone.
// Everything else (address, credentials, accounts) is derived from these when
// a command needs it.
// Thread-safe: the bus feeds it while gRPC threads read it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "cidr.h"
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
  // `name_hash` keys the account index; tests pass one that collides.
  using NameHash = uint64_t (*)(std::string_view site, std::string_view name);
  static uint64_t DefaultNameHash(std::string_view site, std::string_view name);
  // `phone_networks`: where an address a phone reports itself may be (empty:
  // cidr::LocalRanges()); the inventory's addresses are the administrator's.
  static absl::StatusOr<std::unique_ptr<Registry>> Create(
      Inventory inventory, CommandForms forms, std::string default_site, int max_number_length = 32,
      NameHash name_hash = DefaultNameHash, const std::vector<std::string>& phone_networks = {});

  // A retained DeviceState arrived (or changed) on the bus.
  void Learn(v1::DeviceState state);
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
    // The form for the current inventory entry and state; nullptr when none fits (FormOf says
    // why). Chosen when the entry changes, so a command runs no rule patterns.
    const Form* form = nullptr;
    // The learned DeviceState serialized, less the fields named in `elided`; null if none.
    std::unique_ptr<char[]> learned;
    uint32_t learned_size = 0;
    uint8_t elided = 0;  // kSiteElided | kIdElided | kMacElided
  };
  using Entries = std::map<std::string, Entry, std::less<>>;  // "site/id" -> entry, in list order
  using EntryRef = const Entries::value_type*;                // map nodes never move

  Registry(Inventory inventory, CommandForms forms, std::string default_site, int max_number_length,
           NameHash name_hash, cidr::AllowList phone_networks);

  std::string SiteOf(std::string_view site) const;
  std::string LearnedKey(std::string_view site, std::string_view id) const;
  // The entry named by id or account, or an error status.
  absl::StatusOr<EntryRef> Find(const std::string& site, std::string_view device) const;
  // Replaces what the entry learned (nullptr: nothing) and keeps its form and index current.
  void Store(Entries::iterator it, v1::DeviceState* learned);
  // The entry's learned state as it arrived (empty if none).
  static v1::DeviceState Learned(const Entries::value_type& entry);
  absl::StatusOr<Resolved> ResolveEntry(const Entries::value_type& entry,
                                        const v1::DeviceState& learned) const;
  v1::DeviceInfo Info(const Entries::value_type& entry) const;
  const Form* ChooseForm(const InventoryDevice* inv, const v1::DeviceState& learned) const;
  absl::StatusOr<Form> FormOf(const Entry& e, const v1::DeviceState& learned) const;
  void IndexAccounts(EntryRef entry, const v1::DeviceState& learned, bool add);
  bool HasName(const Entries::value_type& entry, std::string_view name) const;

  const Inventory inventory_;
  const CommandForms forms_;
  const std::string default_site_;
  const int max_number_length_;
  const NameHash name_hash_;
  const cidr::AllowList phone_networks_;
  // The forms of inventory entries with a command_form, by index into inventory_.devices.
  std::vector<Form> pinned_forms_;

  mutable std::shared_mutex mu_;
  Entries entries_;
  // name_hash_(site, account) and name_hash_(site, user) -> the entries that have it.
  absl::btree_multimap<uint64_t, EntryRef> by_name_;
};

// "yealink" for VENDOR_YEALINK; "" for unspecified.
std::string VendorName(v1::Vendor vendor);
v1::Vendor VendorOf(Family family);

}  // namespace phonebus::command
