# kh_install.cmake - what `cmake --install` (and the .deb) puts where: every install rule.
#
#   bin/kreishub, bin/kreishub-broker, bin/kreishub-recorder, bin/kreishub-web
#   lib/libkreishub.so.0.x.y (+ .so.0, .so) and lib/libkreishub.a
#   include/kreishub/{kreishub,kh_wire,kh_err}.h
#   lib/pkgconfig/kreishub.pc
#   lib/cmake/kreishub/: kreishubConfig.cmake, its version file, the exported targets
#   share/man/man1/kreishub.1.gz, man8/kreishub-broker.8.gz, man8/kreishub-recorder.8.gz,
#   man8/kreishub-web.8.gz
#   lib/systemd/system/kreishub-broker.service, kreishub-recorder.service
#   etc/kreishub/kreishub.cfg (/etc/kreishub under the prefix /usr)
#   share/kreishub/demo/rhein-kreis-neuss.jsonl (`kreishub demo`'s data)
#
# The broker, the recorder and the web node go to bin, not sbin: `kreishub up` finds
# them beside itself, and a user's PATH on Debian has no sbin. The files that name the prefix
# (the .pc, the units' ExecStart, the config's place) are written at install time by
# kh_install_paths.cmake, so that `cmake --install --prefix P` and CPack get their own.
include (CMakePackageConfigHelpers)

set (KH_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/kreishub)
set (KH_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
     "Where the systemd units go (relative: under the install prefix)")

install (TARGETS kreishub kreishub-broker kreishub-recorder kreishub-web
         RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The library with its SONAME link and the link-time name libkreishub.so (one package
# holds both).
install (TARGETS libkreishub_shared EXPORT kreishubTargets
         LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install (TARGETS libkreishub EXPORT kreishubStaticTargets
         ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install (DIRECTORY ${PROJECT_SOURCE_DIR}/include/kreishub
         DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

install (FILES ${PROJECT_SOURCE_DIR}/packaging/demo/rhein-kreis-neuss.jsonl
         DESTINATION ${CMAKE_INSTALL_DATADIR}/kreishub/demo)
install (FILES ${PROJECT_SOURCE_DIR}/packaging/nginx-kreishub.conf
         DESTINATION ${CMAKE_INSTALL_DOCDIR})

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

# The man pages go gzipped, as Debian's policy wants them in a .deb (CPack does not
# compress them) and man reads them anywhere; gzip -n leaves the name and time out of
# the header, so that a page always gives the same bytes.
find_program (KH_GZIP gzip REQUIRED)
foreach (kh_page kreishub.1 kreishub-broker.8 kreishub-recorder.8 kreishub-web.8)
    set (kh_gz ${PROJECT_BINARY_DIR}/packaging/man/${kh_page}.gz)
    add_custom_command (OUTPUT ${kh_gz}
        COMMAND ${CMAKE_COMMAND} -E copy ${PROJECT_SOURCE_DIR}/packaging/${kh_page}
                ${PROJECT_BINARY_DIR}/packaging/man/${kh_page}
        COMMAND ${KH_GZIP} -9nf ${PROJECT_BINARY_DIR}/packaging/man/${kh_page}
        DEPENDS ${PROJECT_SOURCE_DIR}/packaging/${kh_page} VERBATIM)
    string (REGEX REPLACE ".*\\." "man" kh_section "${kh_page}")
    install (FILES ${kh_gz} DESTINATION ${CMAKE_INSTALL_MANDIR}/${kh_section})
    list (APPEND KH_MAN_GZ ${kh_gz})
endforeach ()
add_custom_target (kh_man ALL DEPENDS ${KH_MAN_GZ})

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
