# kh_package.cmake - CPack: `cpack -G DEB` in the build directory makes kreishub's .deb
# from the install rules of kh_install.cmake, under /usr (the config in /etc).
set (KH_PACKAGE_CONTACT "kreishub maintainers <kreishub@example.org>" CACHE STRING
     "Maintainer named in the .deb")

set (CPACK_GENERATOR DEB)
set (CPACK_PACKAGE_NAME kreishub)
set (CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set (CPACK_PACKAGE_CONTACT "${KH_PACKAGE_CONTACT}")
set (CPACK_PACKAGE_DESCRIPTION_SUMMARY
     "message hub of a German district (Kreis) and its municipalities")
# DESTDIR staging: the install scripts see the real prefix /usr, so that the units and
# kreishub.pc name /usr and the config lands in /etc.
set (CPACK_SET_DESTDIR ON)
set (CPACK_INSTALL_PREFIX /usr)
set (CPACK_PACKAGING_INSTALL_PREFIX /usr)
# cpack runs the install script of the build as it is, like `cmake --install`: it does
# not first build the tree's "preinstall" target (a make over the whole tree, seconds
# even when nothing changed). Build first; `make package` still does.
set (CPACK_INSTALL_CMAKE_PROJECTS "")
set (CPACK_INSTALL_SCRIPTS ${PROJECT_BINARY_DIR}/cmake_install.cmake)

set (CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set (CPACK_DEBIAN_PACKAGE_SECTION net)
# The long description; CPack puts the summary above it.
string (CONCAT CPACK_PACKAGE_DESCRIPTION
    "Municipalities and their Kreis publish project ideas and shared-service offers\n"
    "for their cooperation on digitalisation; a ZeroMQ broker fans every update out\n"
    "to its subscribers once a recorder has stored it durably in SQLite.\n"
    "This package holds the broker, the recorder and their systemd units, the\n"
    "kreishub program, and libkreishub for C programs (shared and static, headers,\n"
    "pkg-config file and CMake package).")
# Depends from what the programs and the library link (libczmq4, libzmq5,
# libmsgpackc2, libsqlite3-0, libc6 on Debian 12).
set (CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# A shlibs file for libkreishub.so.0, and ldconfig run on install and removal.
set (CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
# Building against the shared library needs only pkg-config (kreishub.pc names no
# other module); linking the static one needs the three -dev packages.
set (CPACK_DEBIAN_PACKAGE_SUGGESTS "pkg-config, libczmq-dev, libzmq3-dev, libmsgpack-dev")
# /etc/kreishub/kreishub.cfg: an administrator's edits survive upgrades.
set (CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/conffiles)
# No maintainer scripts: the units use DynamicUser, so there is no user to create,
# and the administrator enables them (systemctl enable --now kreishub-broker ...).

include (CPack)
