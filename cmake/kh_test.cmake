# kh_add_test (NAME SOURCES src... [LIBS lib...] [TIMEOUT s] [LABELS l...])
# Builds one test program beside the code it tests and registers it with ctest.
# With -DKH_VALGRIND=ON each test is also registered as NAME_valgrind, run under
# valgrind's memcheck, failing on any error or definite leak.
option (KH_VALGRIND "Also run every unit test under valgrind" OFF)
find_program (KH_VALGRIND_EXE valgrind)

function (kh_add_test name)
    cmake_parse_arguments (T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
    if (NOT T_TIMEOUT)
        set (T_TIMEOUT 60)
    endif ()
    add_executable (${name} ${T_SOURCES})
    target_link_libraries (${name} PRIVATE khcheck ${T_LIBS})
    add_test (NAME ${name} COMMAND ${name})
    set_tests_properties (${name} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "unit;${T_LABELS}")
    if (KH_VALGRIND AND KH_VALGRIND_EXE)
        math (EXPR vg_timeout "${T_TIMEOUT} * 10")
        add_test (NAME ${name}_valgrind
            COMMAND ${KH_VALGRIND_EXE} --error-exitcode=99 --leak-check=full
                    --errors-for-leak-kinds=definite --show-leak-kinds=definite
                    --suppressions=${PROJECT_SOURCE_DIR}/cmake/valgrind.supp
                    $<TARGET_FILE:${name}>)
        set_tests_properties (${name}_valgrind PROPERTIES TIMEOUT ${vg_timeout}
                              LABELS "valgrind;${T_LABELS}")
    endif ()
endfunction ()

# Propagates a test's environment to its valgrind twin.
function (kh_test_environment name)
    set_tests_properties (${name} PROPERTIES ENVIRONMENT "${ARGN}")
    if (TEST ${name}_valgrind)
        set_tests_properties (${name}_valgrind PROPERTIES ENVIRONMENT "${ARGN}")
    endif ()
endfunction ()
