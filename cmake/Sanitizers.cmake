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
