// The Catch2 main for integration_tests. Each test case starts its own server
// process(es); see fixture.hpp.
//
// One option beyond Catch's own: --broker redis|nats|kafka (or a comma-separated list) runs the
// broker-parameterised test cases ([broker], broker_test.cpp) on those brokers
// only (default: all). ctest registers each of them once per broker this way,
// labelled with the broker's name (CMakeLists.txt).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <exception>
#include <iostream>
#include <string>

#include "support/broker_process.hpp"

int main(int argc, char* argv[]) {
  Catch::Session session;
  std::string brokers;
  using Catch::clara::Opt;
  session.cli(session.cli() |
              Opt(brokers, "redis|nats|kafka|redis,nats,...")["--broker"](
                  "run the [broker] test cases on these brokers only (default: every one)"));
  if (int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  if (!brokers.empty()) {
    try {
      switchboard::test::select_broker_kinds(brokers);
    } catch (const std::exception& e) {
      std::cerr << "--broker: " << e.what() << "\n";
      return 2;
    }
  }
  return session.run();
}
