#include "settings.h"

#include <gtest/gtest.h>

namespace phonebus::settings {
namespace {

TEST(BrokerAddress, ReadsTheSchemeHostAndPortAsPahoDoes) {
  struct Case {
    const char* uri;
    bool tls;
    const char* host;
    unsigned short port;
  };
  for (const auto& c :
       std::vector<Case>{{"tcp://127.0.0.1:1883", false, "127.0.0.1", 1883},
                         {"mqtt://broker:1884", false, "broker", 1884},
                         {"ssl://broker.example:8883", true, "broker.example", 8883},
                         {"mqtts://[::1]:9000", true, "::1", 9000},
                         // Without a port, paho's default for the scheme.
                         {"tcp://broker", false, "broker", 1883},
                         {"mqtts://broker", true, "broker", 8883},
                         {"ssl://[::1]", true, "::1", 8883}}) {
    const Broker broker = BrokerAddress(c.uri);
    EXPECT_EQ(broker.tls, c.tls) << c.uri;
    EXPECT_EQ(broker.address.host, c.host) << c.uri;
    EXPECT_EQ(broker.address.port, c.port) << c.uri;
  }
}

TEST(BrokerAddress, RefusesWhatNoBrokerCanBeReachedAt) {
  struct Case {
    const char* uri;
    const char* message;
  };
  for (const auto& c : std::vector<Case>{
           {"http://broker:1883", "must start with tcp://, ssl://, mqtt:// or mqtts://"},
           {"ws://broker:80", "must start with tcp://"},
           {"broker:1883", "must start with tcp://"},
           {"tcp://broker:http", "port must be 0-65535, got 'http'"},
           {"ssl://broker:65536", "port must be 0-65535"},
           {"tcp://broker:0", "must name a host and a port other than 0"},
           {"tcp://", "must name a host and a port other than 0"},
           {"tcp://:1883", "must name a host and a port other than 0"},
           {"ssl://[::1:8883", "expected [ipv6]:port"}}) {
    try {
      BrokerAddress(c.uri);
      ADD_FAILURE() << c.uri << " was accepted";
    } catch (const CLI::ValidationError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("--mqtt-broker"), std::string::npos) << c.uri << ": " << what;
      EXPECT_NE(what.find(c.message), std::string::npos) << c.uri << ": " << what;
    }
  }
}

TEST(MqttBrokers, TlsIsAskedForBySslAndMqttsOnly) {
  Mqtt mqtt;
  EXPECT_FALSE(mqtt.tls());
  mqtt.brokers = {"tcp://a:1883", "mqtt://b:1883", "http://c:1"};
  EXPECT_FALSE(mqtt.tls());
  mqtt.brokers = {"tcp://a:1883", "mqtts://b:8883"};
  EXPECT_TRUE(mqtt.tls());
  mqtt.brokers = {"ssl://a"};
  EXPECT_TRUE(mqtt.tls());
}

TEST(MqttBrokers, FinishRefusesABrokerWithoutAUsablePort) {
  Mqtt mqtt;
  mqtt.brokers = {"tcp://a:1883", "tcp://b:x"};
  EXPECT_THROW(Finish(mqtt), CLI::ValidationError);
  mqtt.brokers = {"tcp://a:1883", "mqtt://b"};
  EXPECT_NO_THROW(Finish(mqtt));
}

}  // namespace
}  // namespace phonebus::settings
