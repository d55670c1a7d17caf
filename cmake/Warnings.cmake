# Strict warnings for the project's own targets only; third-party headers are SYSTEM includes.
function(rr_strict_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-deprecated-declarations)
endfunction()

# A component library from the .cpp files of one folder; an INTERFACE library
# while the folder has only headers.
function(rr_component_library name dir)
  file(GLOB sources CONFIGURE_DEPENDS ${dir}/*.cpp)
  if(sources)
    add_library(${name} STATIC ${sources})
    target_include_directories(${name} PUBLIC ${dir}/..)
    rr_strict_warnings(${name})
    set(scope PUBLIC)
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${dir}/..)
    set(scope INTERFACE)
  endif()
  if(ARGN)
    target_link_libraries(${name} ${scope} ${ARGN})
  endif()
endfunction()
