// UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits. Time-ordered,
// so consumers can sort and de-duplicate events by id across adapter replicas.
#pragma once

#include <string>

namespace phonebus {

std::string NewUuidV7();

}  // namespace phonebus
