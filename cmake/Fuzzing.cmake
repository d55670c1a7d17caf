# -DRR_FUZZ=ON (clang only): the libFuzzer targets in fuzz/, under ASan+UBSan.
# Every library is compiled with -fsanitize=fuzzer-no-link,address,undefined so
# that the fuzzer sees its coverage; only the fuzz/ executables link libFuzzer.
# Use a build directory of its own (scripts/fuzz.sh uses build-fuzz) and build
# only the fuzz targets there.
option(RR_FUZZ "Build the libFuzzer targets in fuzz/ (needs clang)" OFF)
if(RR_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "RR_FUZZ needs clang, which ships libFuzzer: configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  if(NOT RR_SANITIZE STREQUAL "")
    message(FATAL_ERROR "RR_FUZZ brings its own sanitizers (ASan+UBSan); leave RR_SANITIZE empty")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
