# The Debian package (docs/packages.md): `cpack -G DEB` in a build tree, or
# `cmake --build build --target package`, makes build/switchboard_<version>_<arch>.deb
# with everything `cmake --install` puts under the prefix (the server and the
# conformance kit, the four plugins, the app library, the SDK headers, the CMake
# package and the template), relocated to /usr, plus what only the package has
# (packaging/debian/): the systemd unit, the default config under /etc (a
# conffile), the maintainer scripts and the docs an operator needs.
#
# Those package-only files are the `service` component, EXCLUDE_FROM_ALL: a plain
# `cmake --install --prefix ~/switchboard` (scripts/install-sdk) never writes to /etc.

set(_sb_deb ${PROJECT_SOURCE_DIR}/packaging/debian)
install(FILES ${_sb_deb}/switchboard.service DESTINATION /lib/systemd/system
        COMPONENT service EXCLUDE_FROM_ALL)
install(FILES ${_sb_deb}/switchboard.yaml DESTINATION /etc/switchboard
        COMPONENT service EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/README.md
              ${PROJECT_SOURCE_DIR}/docs/packages.md
              ${PROJECT_SOURCE_DIR}/docs/operations.md
              ${PROJECT_SOURCE_DIR}/docs/config-reference.md
              ${PROJECT_SOURCE_DIR}/docs/cli.md
              ${PROJECT_SOURCE_DIR}/docs/security.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/switchboard COMPONENT service EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME switchboard)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Switchboard")
set(CPACK_PACKAGE_CONTACT "Switchboard maintainers <switchboard@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "real-time pub/sub server for browsers (WebSocket)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR})
set(CPACK_OUTPUT_FILE_PREFIX "")

# One package of every component: the default one (the binaries, the plugins, the
# CMake package), `app`, `sdk` and `service`. The list is the project's own, so a
# component added later is packaged too.
get_cmake_property(_sb_components COMPONENTS)
set(CPACK_COMPONENTS_ALL ${_sb_components})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # switchboard_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_NAME switchboard)
set(CPACK_DEBIAN_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION_SUMMARY}
Switchboard serves browsers over one WebSocket each: channels, users, sessions
and RPC, fanned out across servers through a broker. The package runs the
server as the systemd service switchboard.service with
/etc/switchboard/switchboard.yaml (the embedded default: memory transport and
sessions), and carries the redis, nats and kafka broker plugins, the C++ app
library, the plugin SDK, the conformance kit and the plugin template.")
# Runtime dependencies from the ELF files (dpkg-shlibdeps, package dpkg-dev):
# libc, libstdc++, yaml-cpp, OpenSSL for the server; hiredis, libnats and
# librdkafka for the plugins. `passwd` for the postinst's useradd; building an
# app or a plugin against the headers needs the -dev packages (Suggests).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
find_program(SWITCHBOARD_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(NOT SWITCHBOARD_DPKG_SHLIBDEPS)
  # CPack would then make a package whose Depends lacks every library (it only
  # says so in passing); tests/package/deb.sh fails on it.
  message(STATUS "dpkg-shlibdeps not found (package dpkg-dev): a .deb made now would not depend on its libraries")
endif()
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "g++ (>= 4:12), cmake (>= 3.25), libboost1.81-dev, libboost-json1.81-dev, libyaml-cpp-dev, libssl-dev")

# conffiles: dpkg keeps an administrator's edits of these across upgrades (and
# asks when the packaged file changed too); a file added under /etc above goes here.
set(_sb_conffiles "${CMAKE_BINARY_DIR}/packaging/debian/conffiles")
file(WRITE ${_sb_conffiles} "/etc/switchboard/switchboard.yaml\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_sb_conffiles} ${_sb_deb}/postinst ${_sb_deb}/prerm ${_sb_deb}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
