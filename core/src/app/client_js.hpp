// The JavaScript client (sdk/js/switchboard.js), embedded at build time so the
// binary serves /switchboard.js with nothing beside it.
#pragma once

#include <string_view>

namespace switchboard {
std::string_view client_js();
}
