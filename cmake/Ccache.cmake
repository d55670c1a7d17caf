# ccache as the compiler launcher, keyed so that a clone at another path hits the same cache.
#
# CI builds in a fresh clone at a path of its own (.ci/run, scripts/test.sh). ccache's defaults
# hash the absolute source path (-I, the file compiled) and, with -g, the working directory
# (hash_dir), so such a clone missed every object and compiled the main, address and thread
# trees from nothing. So:
#   base_dir = the source dir: ccache rewrites absolute paths under it (the file compiled, -I,
#              the dependency file) to paths relative to the build dir before hashing and
#              compiling. Build dirs inside the source dir (build/, build-address/, ...) are
#              then the same in every clone; a build dir outside it still works, but misses.
#   hash_dir = false: the build dir's absolute path is not hashed either.
#   The locale (LANG, LC_ALL, LC_CTYPE, LC_MESSAGES, which ccache hashes: they choose the
#   diagnostics' language) is unset, so a shell's C.UTF-8 and an image build's empty
#   environment (scripts/build-images.sh lends its build stages this cache) key alike.
# ccache 4.7 takes no KEY=VALUE settings on its command line (4.8 does), hence `cmake -E env`.
#
# Debug info: the compiler sees ../tests/x.cpp and would record the build dir as DW_AT_comp_dir,
# an absolute path that a cache hit would carry into another clone's objects. The prefix map
# records "." instead (ccache does not hash the map's old path), so the line tables name
# sources relative to the build dir: gdb finds them when started in the build dir (as ctest
# runs tests), else after `directory <build dir>`. Sanitizer stack traces show build/../tests/...
#
# Anything else that puts the clone's path into a compile (a -D with an absolute path, __FILE__
# in a build-dir-relative include) misses or breaks: the tests find the source tree through
# RR_SOURCE_DIR, set by CTest (tests/source_dir.h).
find_program(RR_CCACHE ccache)
if(RR_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(RR_CCACHE_LAUNCHER ${CMAKE_COMMAND} -E env
      --unset=LANG --unset=LC_ALL --unset=LC_CTYPE --unset=LC_MESSAGES
      CCACHE_BASEDIR=${PROJECT_SOURCE_DIR} CCACHE_NOHASHDIR=true ${RR_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${RR_CCACHE_LAUNCHER})
  set(CMAKE_C_COMPILER_LAUNCHER ${RR_CCACHE_LAUNCHER})
  add_compile_options(-fdebug-prefix-map=${PROJECT_BINARY_DIR}=.)
endif()
