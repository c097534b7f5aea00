// `phonebus devices`: what the commander's registry knows, as a table or JSON.
#include <iostream>
#include <memory>

#include "connection.h"
#include "devices_format.h"
#include "exit_codes.h"
#include "subcommands.h"
#include "watch_format.h"

namespace phonebus::cli {
namespace {

constexpr int kPageSize = 500;

struct Devices {
  Connection connection;
  std::string device;
  bool all_sites = false;
  bool json = false;
};

int Run(const Devices& d) {
  Commander commander(d.connection);
  std::vector<v1::DeviceInfo> devices;
  if (!d.device.empty()) {
    v1::GetDeviceRequest request;
    request.set_device(d.device);
    request.set_site(d.connection.site);
    grpc::ClientContext context;
    commander.Prepare(context);
    v1::DeviceInfo info;
    const auto status = commander.stub().GetDevice(&context, request, &info);
    if (!status.ok()) return commander.Fail("devices", status);
    devices.push_back(std::move(info));
  } else {
    v1::ListDevicesRequest request;
    request.set_site(d.all_sites ? "*" : d.connection.site);
    request.set_page_size(kPageSize);
    do {
      grpc::ClientContext context;
      commander.Prepare(context);
      v1::ListDevicesResponse page;
      const auto status = commander.stub().ListDevices(&context, request, &page);
      if (!status.ok()) return commander.Fail("devices", status);
      for (auto& info : *page.mutable_devices()) devices.push_back(std::move(info));
      // A token that does not move on would page forever.
      if (page.next_page_token() == request.page_token()) break;
      request.set_page_token(page.next_page_token());
    } while (!request.page_token().empty());
  }
  if (d.json) {
    for (const auto& info : devices) std::cout << JsonLine(info) << '\n';
  } else if (devices.empty()) {
    std::cerr << "phonebus devices: no devices\n";
  } else {
    std::cout << DevicesTable(devices, std::chrono::system_clock::now());
  }
  return kExitOk;
}

}  // namespace

void AddDevicesCommand(CLI::App& app, Subcommands& out) {
  auto d = std::make_shared<Devices>();
  auto* sub = app.add_subcommand("devices", "List the devices the commander knows");
  sub->add_option("device", d->device, "Show only this device (device id or SIP account)");
  sub->add_flag("--json", d->json, "One protobuf-JSON DeviceInfo per line instead of the table");
  sub->add_flag("--all-sites", d->all_sites, "Devices of every site (overrides --site)");
  AddConnection(*sub, d->connection, false);
  sub->footer(
      "Columns: site, device id, vendor (a brand speaking a family's commands shows as\n"
      "\"brand (family)\"), model, firmware, address commands go to, SIP accounts, where\n"
      "the entry came from (inventory, learned from the bus, both), last seen.\n"
      "Example: phonebus devices --all-sites\n"
      "Exit codes: see phonebus --help.");
  out.push_back({sub, [d] { return Run(*d); }});
}

}  // namespace phonebus::cli
