# Test-only packages. The library, the whvemu tool and the demo build with a
# C compiler and CMake alone; some tests need more (Zydis, mingw-w64,
# Valgrind, clang, pkg-config, a C++ compiler, the kernel's KVM header).
# A test whose package is missing is never skipped: the configure step warns,
# and a test named missing_dependency_<what> is registered that fails and
# prints the apt-get command that installs the package, so the test command
# cannot pass without it.

file(WRITE ${CMAKE_BINARY_DIR}/whvemu_missing_dependency.cmake
  "message(FATAL_ERROR \"\${MSG}\")\n")

# whvemu_missing_test_dependency(<what> "<Debian packages>" "<tests it stops>")
function(whvemu_missing_test_dependency what packages tests)
  set(msg "${what} was not found, so these tests cannot run: ${tests}. Install it with: sudo apt-get install -y ${packages} (or: bash scripts/setup-deps.sh), then configure again in a fresh build directory.")
  message(WARNING "${msg}")
  string(MAKE_C_IDENTIFIER "${what}" id)
  string(TOLOWER "${id}" id)
  add_test(NAME missing_dependency_${id}
    COMMAND ${CMAKE_COMMAND} "-DMSG=MISSING TEST DEPENDENCY: ${msg}"
            -P ${CMAKE_BINARY_DIR}/whvemu_missing_dependency.cmake)
  set_tests_properties(missing_dependency_${id} PROPERTIES LABELS missing-dependency)
endfunction()
