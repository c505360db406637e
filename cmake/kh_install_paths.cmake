# kh_install_paths.cmake - runs at install time: writes and installs the files that name
# the install prefix (kreishub.pc, the systemd units) and the sample config.
#
# CMAKE_INSTALL_PREFIX here is the prefix of this install: `cmake --install --prefix P`
# gives P, CPack gives /usr (with DESTDIR set to its staging directory; file(INSTALL)
# adds DESTDIR itself). KH_* come from kh_install.cmake's install(CODE).

# The absolute form of a GNUInstallDirs directory under this prefix.
function (kh__full_path var dir)
    if (IS_ABSOLUTE "${dir}")
        set (${var} "${dir}" PARENT_SCOPE)
    else ()
        set (${var} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
    endif ()
endfunction ()

# A function, so that its variables (named as configure_file's templates use them)
# stay out of the rest of the install script.
function (kh__install_paths)
    set (prefix "${CMAKE_INSTALL_PREFIX}")
    kh__full_path (bindir "${KH_BINDIR}")
    kh__full_path (libdir "${KH_LIBDIR}")
    kh__full_path (includedir "${KH_INCLUDEDIR}")
    kh__full_path (unitdir "${KH_UNITDIR}")
    # As GNUInstallDirs does: the configuration of a /usr install lives in /etc.
    if (prefix STREQUAL "/usr" AND NOT IS_ABSOLUTE "${KH_SYSCONFDIR}")
        set (sysconfdir "/etc")
    else ()
        kh__full_path (sysconfdir "${KH_SYSCONFDIR}")
    endif ()
    set (version "${KH_VERSION}")
    # kreishub.pc names its directories through ${prefix} where it can, as is the habit.
    set (pc_libdir "${libdir}")
    set (pc_includedir "${includedir}")
    if (NOT IS_ABSOLUTE "${KH_LIBDIR}")
        set (pc_libdir "\${prefix}/${KH_LIBDIR}")
    endif ()
    if (NOT IS_ABSOLUTE "${KH_INCLUDEDIR}")
        set (pc_includedir "\${prefix}/${KH_INCLUDEDIR}")
    endif ()

    # One work directory per destination, so that two installs at once (a test's and
    # CPack's) do not write the same files.
    string (MD5 key "$ENV{DESTDIR}|${prefix}")
    set (work "${KH_WORK_DIR}/install-${key}")
    set (in "${KH_SOURCE_DIR}/packaging")
    configure_file ("${in}/kreishub.pc.in" "${work}/kreishub.pc" @ONLY)
    configure_file ("${in}/kreishub-broker.service.in" "${work}/kreishub-broker.service" @ONLY)
    configure_file ("${in}/kreishub-recorder.service.in" "${work}/kreishub-recorder.service" @ONLY)

    file (INSTALL "${work}/kreishub.pc" DESTINATION "${libdir}/pkgconfig")
    file (INSTALL "${work}/kreishub-broker.service" "${work}/kreishub-recorder.service"
          DESTINATION "${unitdir}")

    # The config: an administrator's edited copy is never overwritten; the new sample
    # then goes beside it.
    set (cfg "$ENV{DESTDIR}${sysconfdir}/kreishub/kreishub.cfg")
    if (EXISTS "${cfg}")
        file (READ "${cfg}" have)
        file (READ "${in}/kreishub.cfg" want)
        if (NOT have STREQUAL want)
            message (STATUS "Keeping the edited ${cfg}; the sample goes to kreishub.cfg.sample")
            file (INSTALL "${in}/kreishub.cfg" DESTINATION "${sysconfdir}/kreishub"
                  RENAME kreishub.cfg.sample)
            return ()
        endif ()
    endif ()
    file (INSTALL "${in}/kreishub.cfg" DESTINATION "${sysconfdir}/kreishub")
endfunction ()

kh__install_paths ()
