/* A plugin descriptor claiming FIXTURE_MAJOR.FIXTURE_MINOR (set by CMake). With
 * FIXTURE_V1_0_SIZE it is laid out as an ABI 1.0 plugin was: struct_size ends
 * before the fields 1.1 appended, whose memory here holds garbage the host must
 * never read. */
#include "switchboard/abi.h"

#include <string.h>

__attribute__((visibility("default"))) const switchboard_plugin* SWITCHBOARD_PLUGIN_ENTRY(void) {
  static switchboard_plugin p;
  memset(&p, 0, sizeof p);
#ifdef FIXTURE_V1_0_SIZE
  p.struct_size = (uint32_t)SWITCHBOARD_PLUGIN_SIZE_V1_0;
  p.description = (const char*)0x1; /* past struct_size: must be ignored */
#else
  p.struct_size = sizeof(switchboard_plugin);
#endif
  p.abi_major = FIXTURE_MAJOR;
  p.abi_minor = FIXTURE_MINOR;
  p.name = "versions";
  p.version = "0";
  return &p;
}
