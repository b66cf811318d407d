/* A plugin descriptor claiming FIXTURE_MAJOR.FIXTURE_MINOR (set by CMake). */
#include "switchboard/abi.h"

__attribute__((visibility("default"))) const switchboard_plugin* SWITCHBOARD_PLUGIN_ENTRY(void) {
  static const switchboard_plugin p = {sizeof(switchboard_plugin), FIXTURE_MAJOR, FIXTURE_MINOR,
                                       "versions", "0", 0, NULL, 0, NULL, NULL};
  return &p;
}
