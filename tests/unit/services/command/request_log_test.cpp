#include "request_log.h"

#include <gtest/gtest.h>

#include <thread>

namespace phonebus::command {
namespace {

using namespace std::chrono_literals;

v1::CommandResult Result(const std::string& message) {
  v1::CommandResult r;
  r.set_message(message);
  return r;
}

TEST(RequestLog, ARepeatGetsTheFirstOutcome) {
  RequestLog log(10s, 1000);
  int calls = 0;
  EXPECT_EQ(log.Begin("s/1", "dial 2323", [&](auto&) { ++calls; }), RequestLog::Claim::kFirst);
  log.Finish("s/1", Result("first"), true);
  std::string got;
  EXPECT_EQ(log.Begin("s/1", "dial 2323", [&](const v1::CommandResult& r) { got = r.message(); }),
            RequestLog::Claim::kRepeat);
  EXPECT_EQ(got, "first");
  EXPECT_EQ(calls, 0);
}

TEST(RequestLog, ARepeatWhileRunningWaitsForTheFirst) {
  RequestLog log(10s, 1000);
  EXPECT_EQ(log.Begin("s/1", "f", [](auto&) {}), RequestLog::Claim::kFirst);
  std::string got;
  EXPECT_EQ(log.Begin("s/1", "f", [&](const v1::CommandResult& r) { got = r.message(); }),
            RequestLog::Claim::kWaiting);
  EXPECT_EQ(got, "");
  log.Finish("s/1", Result("done"), true);
  EXPECT_EQ(got, "done");
}

TEST(RequestLog, TheSameIdForADifferentRequestIsRefused) {
  RequestLog log(10s, 1000);
  log.Begin("s/1", "dial 2323", [](auto&) {});
  EXPECT_EQ(log.Begin("s/1", "dial 9999", [](auto&) {}), RequestLog::Claim::kMismatch);
  EXPECT_EQ(log.Begin("t/1", "dial 9999", [](auto&) {}), RequestLog::Claim::kFirst);
}

TEST(RequestLog, NothingSentMeansTheIdMayBeTriedAgain) {
  RequestLog log(10s, 1000);
  log.Begin("s/1", "f", [](auto&) {});
  std::string waiter;
  log.Begin("s/1", "f", [&](const v1::CommandResult& r) { waiter = r.message(); });
  log.Finish("s/1", Result("unreachable"), false);
  EXPECT_EQ(waiter, "unreachable");
  EXPECT_EQ(log.Begin("s/1", "f", [](auto&) {}), RequestLog::Claim::kFirst);
}

TEST(RequestLog, ForgetsAfterTheWindow) {
  RequestLog log(50ms, 1000);
  log.Begin("s/1", "f", [](auto&) {});
  log.Finish("s/1", Result("x"), true);
  std::this_thread::sleep_for(80ms);
  EXPECT_EQ(log.Begin("s/2", "f", [](auto&) {}), RequestLog::Claim::kFirst);  // expires s/1
  EXPECT_EQ(log.Begin("s/1", "f", [](auto&) {}), RequestLog::Claim::kFirst);
}

TEST(RequestLog, FullRefusesNewIdsInsteadOfForgettingOutcomes) {
  RequestLog log(1h, 100);
  for (int i = 0; i < 100; ++i) {
    const std::string key = "s/" + std::to_string(i);
    ASSERT_EQ(log.Begin(key, "f", [](auto&) {}), RequestLog::Claim::kFirst);
    log.Finish(key, Result("x"), true);
  }
  EXPECT_EQ(log.Begin("s/100", "f", [](auto&) {}), RequestLog::Claim::kFull);
  // Every remembered outcome still answers its repeat.
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(log.Begin("s/" + std::to_string(i), "f", [](auto&) {}), RequestLog::Claim::kRepeat);
  }
  EXPECT_EQ(log.size(), 100u);
}

TEST(RequestLog, RoomAgainOnceTheWindowPassed) {
  RequestLog log(50ms, 10);
  for (int i = 0; i < 10; ++i) {
    const std::string key = "s/" + std::to_string(i);
    log.Begin(key, "f", [](auto&) {});
    log.Finish(key, Result("x"), i % 2 == 0);  // forgotten ones free their place at once
  }
  EXPECT_EQ(log.size(), 5u);
  std::this_thread::sleep_for(80ms);
  EXPECT_EQ(log.Begin("s/new", "f", [](auto&) {}), RequestLog::Claim::kFirst);
  EXPECT_EQ(log.size(), 1u);
}

}  // namespace
}  // namespace phonebus::command
