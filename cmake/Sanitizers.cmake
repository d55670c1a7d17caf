# -DRR_SANITIZE=address  -> ASan + UBSan;  -DRR_SANITIZE=thread -> TSan.
set(RR_SANITIZE "" CACHE STRING "Sanitizer build: empty, 'address' (ASan+UBSan) or 'thread' (TSan)")
if(RR_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  # GCC 12's -Wmaybe-uninitialized misfires on ASan's instrumented code: std::jthread's
  # stop_source() : _M_state(*this) in libstdc++ (kube::Informer::start) "may be used
  # uninitialized", an error under -Werror. The main build keeps the warning on the same code.
  add_compile_options(-Wno-maybe-uninitialized)
  add_link_options(-fsanitize=address,undefined)
elseif(RR_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT RR_SANITIZE STREQUAL "")
  message(FATAL_ERROR "RR_SANITIZE must be empty, 'address' or 'thread', not '${RR_SANITIZE}'")
endif()
# A sanitizer tree (CI's address and thread tiers build one every run, from whatever the cache
# holds) compiles at -O1 -g1 instead of RelWithDebInfo's -O2 -g: about half the compile time and
# 40% of the object size (docs/sanitizers.md, Times). -O1 is what the sanitizers' docs suggest;
# -g1 keeps the line tables and inlined frames, so a report's stack still names file:line, but
# has no locals for a debugger: -DRR_SANITIZE_FLAGS= gives RelWithDebInfo's -O2 -g back.
# Appended after CMAKE_CXX_FLAGS_RELWITHDEBINFO, so the later -O and -g win.
set(RR_SANITIZE_FLAGS "-O1 -g1" CACHE STRING "Extra flags of a RelWithDebInfo sanitizer tree (RR_SANITIZE)")
if(NOT RR_SANITIZE STREQUAL "" AND RR_SANITIZE_FLAGS)
  separate_arguments(_rr_sanitize_flags UNIX_COMMAND "${RR_SANITIZE_FLAGS}")
  foreach(flag IN LISTS _rr_sanitize_flags)
    add_compile_options($<$<CONFIG:RelWithDebInfo>:${flag}>)
  endforeach()
endif()
