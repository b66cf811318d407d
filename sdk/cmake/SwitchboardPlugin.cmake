# switchboard_add_plugin(<target> NAME <name> SOURCES <src>... [OUTPUT_DIRECTORY <dir>])
#
# Builds a Switchboard plugin: a MODULE library named libswitchboard_<name>.so
# (the file name the server looks for in its plugins directory), compiled as
# C++20 against the SDK headers with hidden visibility, so that only the entry
# symbol (switchboard_plugin_entry_v1) is exported. Link your client libraries
# PRIVATE to <target>.
function(switchboard_add_plugin target)
  cmake_parse_arguments(P "" "NAME;OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  if(NOT P_NAME)
    message(FATAL_ERROR "switchboard_add_plugin(${target}): NAME is required")
  endif()
  if(NOT P_NAME MATCHES "^[a-z0-9_]+$")
    message(FATAL_ERROR "switchboard_add_plugin(${target}): NAME must be [a-z0-9_]+ (it is the config name)")
  endif()
  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE Switchboard::sdk)
  target_compile_features(${target} PRIVATE cxx_std_20)
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME switchboard_${P_NAME}
    PREFIX lib
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(P_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIRECTORY})
  endif()
  # Export the entry symbol and nothing else: no client-library or weak template
  # symbols leak into the host (or collide with another plugin's copies).
  if(NOT APPLE)
    set(map ${CMAKE_CURRENT_BINARY_DIR}/${target}.exports.map)
    file(WRITE ${map} "{ global: switchboard_plugin_entry_v*; local: *; };\n")
    target_link_options(${target} PRIVATE -Wl,--exclude-libs,ALL -Wl,--version-script=${map})
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${map})
  endif()
endfunction()
