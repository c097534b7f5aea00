// The adapter's request path from raw bytes to answer, without sockets: what a connection reads
// (Beast's parser under the server's limits, lib/http_server CheckRequest), then the adapter's
// handler (route, query, dialect, normalise, device state, outbox), as many requests as a
// kept-alive connection carries. Input: what a client sends on one connection
// ("GET /fuzz-url-secret-0123456789/yealink/incoming_call?mac=...&remote=%2B49... HTTP/1.1\r\nHost:
// x\r\n\r\n").
//
// Checked beyond not crashing: every answer is one the adapter documents (never a 5xx: the
// outbox is drained after each input, so it is never full), every error carries a reason, and
// every record it queues is an MQTT message a consumer can use: a topic of the documented shape
// whose levels carry no '+', '#' or NUL, and a payload that decodes.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>

#include "adapter.h"
#include "fuzz_support.h"
#include "log.h"
#include "outbox_publisher.h"

namespace {

namespace adapter = phonebus::adapter;
namespace http_server = phonebus::http_server;
namespace outbox = phonebus::outbox;
namespace beast = phonebus::beast;
namespace http = phonebus::http;
namespace net = phonebus::net;
using phonebus::fuzz::Check;

// The client's bytes, then the client closes its side: a SyncReadStream for http::read.
class ClientBytes {
 public:
  explicit ClientBytes(std::string_view bytes) : rest_(bytes) {}

  template <typename Buffers>
  size_t read_some(const Buffers& buffers, beast::error_code& ec) {
    if (rest_.empty()) {
      ec = net::error::eof;
      return 0;
    }
    ec = {};
    const size_t n = net::buffer_copy(buffers, net::buffer(rest_.data(), rest_.size()));
    rest_.remove_prefix(n);
    return n;
  }
  template <typename Buffers>
  size_t read_some(const Buffers& buffers) {
    beast::error_code ec;
    const size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  std::string_view rest_;
};

struct Fixture {
  Fixture() {
    phonebus::log::SetLevel(phonebus::log::Level::kError);  // refusals are logged at info
    char dir_template[] = "/tmp/phonebus-fuzz-outbox-XXXXXX";
    Check(mkdtemp(dir_template) != nullptr, "cannot make a temporary directory");
    dir = dir_template;
    settings.outbox_dir = dir;
    // Smaller than the defaults so that inputs of a few KiB reach every limit.
    settings.max_url_bytes = 512;
    settings.max_header_bytes = 1024;
    settings.url_secrets = {"fuzz-url-secret-0123456789"};  // the seeds carry it
    // Never held off: an answer must depend on its own input, not on earlier ones.
    settings.refuse_after_failures = std::numeric_limits<int>::max();
    limits = settings.Limits();
    auto opened = outbox::Outbox::Open(settings.OutboxOptions());
    Check(opened.ok(), "cannot open the outbox");
    box = std::move(*opened);
    handler =
        std::make_unique<adapter::ActionUrlHandler>(settings, *box, registry, [] { return true; });
  }
  ~Fixture() {
    handler.reset();
    box.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  std::string dir;
  adapter::AdapterSettings settings;
  http_server::Limits limits;
  phonebus::metrics::Registry registry;
  std::unique_ptr<outbox::Outbox> box;
  std::unique_ptr<adapter::ActionUrlHandler> handler;
};

Fixture& GetFixture() {
  // Never destroyed by the exit path: libFuzzer may exit from its own thread.
  static Fixture* fixture = [] {
    auto* f = new Fixture;
    std::atexit([] { delete &GetFixture(); });
    return f;
  }();
  return *fixture;
}

bool SafeLevel(std::string_view level) {
  return !level.empty() && level.find_first_of(std::string_view("+#\0", 3)) == std::string::npos;
}

// phonebus/v1/{site}/device/{device_id}/event/{kind} or .../state
void CheckTopic(std::string_view topic) {
  std::vector<std::string_view> levels;
  for (size_t start = 0;;) {
    const auto slash = topic.find('/', start);
    levels.push_back(topic.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  for (const auto level : levels) Check(SafeLevel(level), "a topic level with '+', '#' or NUL");
  const bool event = levels.size() == 7 && levels[5] == "event";
  const bool state = levels.size() == 6 && levels[5] == "state";
  Check(levels[0] == "phonebus" && levels[1] == "v1" && levels[3] == "device" && (event || state),
        "a topic not of the documented shape (a '/' in a level?)");
}

void DrainOutbox(Fixture& f) {
  for (auto entries = f.box->Read(64, std::chrono::milliseconds(0)); !entries.empty();
       entries = f.box->Read(64, std::chrono::milliseconds(0))) {
    for (const auto& entry : entries) {
      const auto record = outbox::DecodeRecord(entry.data);
      Check(record.ok(), "an outbox record that does not decode");
      CheckTopic(record->message.topic);
      const bool is_state = record->message.retained;
      bool decodes = false;
      if (is_state) {
        phonebus::v1::DeviceState state;
        decodes = state.ParseFromString(record->message.payload);
      } else {
        phonebus::v1::PhoneEvent event;
        decodes = event.ParseFromString(record->message.payload);
      }
      Check(decodes, "a payload a consumer cannot decode (invalid UTF-8?)");
      f.box->Ack(entry.seq);
    }
  }
}

bool Documented(unsigned status) {
  switch (status) {
    case 200:  // accepted, or health and metrics
    case 400:  // malformed HTTP, query or event
    case 404:  // unknown path
    case 403:  // wrong URL secret or source
    case 405:  // not GET or HEAD
    case 413:  // body over the limit
    case 414:  // URL over the limit
    case 431:  // headers over the limit
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture& f = GetFixture();
  ClientBytes client(phonebus::fuzz::Text(data, size));
  // One buffer per connection, as in http_server's Session: pipelined bytes carry over.
  beast::flat_buffer buffer(http_server::HeaderBufferBytes(f.limits) + f.limits.max_body_bytes);
  for (bool keep_alive = true; keep_alive;) {
    http_server::RequestParser parser;
    http_server::LimitParser(f.limits, parser);
    beast::error_code ec;
    http::read(client, buffer, parser, ec);
    if (ec == http::error::end_of_stream) break;  // the client closed between requests
    if (const auto refusal = http_server::CheckRequest(ec, parser, f.limits)) {
      Check(Documented(refusal->status) && refusal->status != 200, "an undocumented refusal");
      Check(!refusal->text.empty(), "a refusal without a reason");
      break;  // refusals close the connection
    }
    const auto& req = parser.get();
    keep_alive = req.keep_alive();
    bool answered = false;
    f.handler->Handle(
        {req.method(), req.target(), "10.0.0.7", keep_alive}, [&](http_server::Response response) {
          Check(!answered, "answered twice");
          answered = true;
          Check(Documented(response.status), "an undocumented status");
          Check(response.status == 200 || !response.body.empty(), "an error without a reason");
        });
    // In the default durability mode the outbox answers before Append returns.
    Check(answered, "a request left unanswered");
    DrainOutbox(f);
  }
  return 0;
}
