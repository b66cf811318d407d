/* abi.h must be valid C99: a plugin may be written in C. */
#include "switchboard/abi.h"

#include <stdio.h>

static switchboard_status create(const switchboard_config_entry* c, size_t n,
                                 const switchboard_host* h, void** out, char* err, size_t len) {
  (void)c; (void)n; (void)h; (void)err; (void)len;
  *out = NULL;
  return SWITCHBOARD_OK;
}

int main(void) {
  switchboard_transport_vtable t = {0};
  switchboard_plugin p = {0};
  t.struct_size = sizeof t;
  t.create = create;
  p.struct_size = sizeof p;
  p.abi_major = SWITCHBOARD_ABI_MAJOR;
  p.transport = &t;
  if (p.transport->create(NULL, 0, NULL, NULL == NULL ? (void**)&p.name : NULL, NULL, 0) != SWITCHBOARD_OK)
    return 1;
  printf("abi.h compiles as C: plugin struct %u bytes\n", (unsigned)sizeof p);
  return 0;
}
