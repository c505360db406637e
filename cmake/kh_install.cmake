# kh_install.cmake - what `cmake --install` (and the .deb) puts where: every install rule.
#
#   bin/kreishub, bin/kreishub-broker, bin/kreishub-recorder
#   lib/libkreishub.so.0.x.y (+ .so.0, .so) and lib/libkreishub.a
#   include/kreishub/{kreishub,kh_wire,kh_err}.h
#   lib/pkgconfig/kreishub.pc
#   lib/cmake/kreishub/: kreishubConfig.cmake, its version file, the exported targets
#   share/man/man1/kreishub.1, man8/kreishub-broker.8, man8/kreishub-recorder.8
#   lib/systemd/system/kreishub-broker.service, kreishub-recorder.service
#   etc/kreishub/kreishub.cfg (/etc/kreishub under the prefix /usr)
#
# The broker and the recorder go to bin, not sbin: `kreishub up` finds them beside
# itself, and a user's PATH on Debian has no sbin. The files that name the prefix
# (the .pc, the units' ExecStart, the config's place) are written at install time by
# kh_install_paths.cmake, so that `cmake --install --prefix P` and CPack get their own.
include (CMakePackageConfigHelpers)

set (KH_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/kreishub)
set (KH_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
     "Where the systemd units go (relative: under the install prefix)")

install (TARGETS kreishub kreishub-broker kreishub-recorder
         RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The library with its SONAME link and the link-time name libkreishub.so (one package
# holds both).
install (TARGETS libkreishub_shared EXPORT kreishubTargets
         LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install (TARGETS libkreishub EXPORT kreishubStaticTargets
         ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install (DIRECTORY ${PROJECT_SOURCE_DIR}/include/kreishub
         DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

# find_package (kreishub): kreishub::kreishub (shared) always; kreishub::kreishub_static
# when its link dependencies are found (see kreishubConfig.cmake.in).
install (EXPORT kreishubTargets NAMESPACE kreishub:: DESTINATION ${KH_CMAKE_DIR})
install (EXPORT kreishubStaticTargets NAMESPACE kreishub:: DESTINATION ${KH_CMAKE_DIR})
configure_package_config_file (${PROJECT_SOURCE_DIR}/packaging/kreishubConfig.cmake.in
    ${PROJECT_BINARY_DIR}/packaging/kreishubConfig.cmake INSTALL_DESTINATION ${KH_CMAKE_DIR})
# 0.x: a new minor version may break the API, so only the same minor one matches.
write_basic_package_version_file (${PROJECT_BINARY_DIR}/packaging/kreishubConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
install (FILES ${PROJECT_BINARY_DIR}/packaging/kreishubConfig.cmake
               ${PROJECT_BINARY_DIR}/packaging/kreishubConfigVersion.cmake
         DESTINATION ${KH_CMAKE_DIR})

install (FILES ${PROJECT_SOURCE_DIR}/packaging/kreishub.1
         DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install (FILES ${PROJECT_SOURCE_DIR}/packaging/kreishub-broker.8
               ${PROJECT_SOURCE_DIR}/packaging/kreishub-recorder.8
         DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

# The prefix-dependent files: the script reads these, set at configure time.
install (CODE "
set (KH_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
set (KH_WORK_DIR \"${PROJECT_BINARY_DIR}/packaging\")
set (KH_VERSION \"${PROJECT_VERSION}\")
set (KH_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
set (KH_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
set (KH_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
set (KH_SYSCONFDIR \"${CMAKE_INSTALL_SYSCONFDIR}\")
set (KH_UNITDIR \"${KH_SYSTEMD_UNITDIR}\")")
install (SCRIPT ${PROJECT_SOURCE_DIR}/cmake/kh_install_paths.cmake)
