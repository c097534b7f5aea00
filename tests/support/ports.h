// Free loopback ports, chosen by the OS.
#pragma once

namespace phonebus::testing {

// Binds 127.0.0.1:0, reads the port the OS handed out, and releases it, for
// servers (mosquitto) that cannot report a port they picked themselves.
unsigned short FreePort();

}  // namespace phonebus::testing
