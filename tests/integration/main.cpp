// The Catch2 main for integration_tests. Each test case starts its own server
// process(es); see fixture.hpp.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
