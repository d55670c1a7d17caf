# Strict warnings for the project's own targets only; third-party headers are SYSTEM includes.
function(rr_strict_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-deprecated-declarations)
endfunction()

# The include root of one component library: ${CMAKE_BINARY_DIR}/include/<name>
# holding only a symlink <folder> -> the source folder, so "<folder>/x.h" resolves
# and nothing beside it does. The folder's parent is not an include directory: a
# target sees the headers of the libraries it links, and no others (tests/layering).
function(rr_include_root out name dir)
  get_filename_component(folder ${dir} NAME)
  set(root ${CMAKE_BINARY_DIR}/include/${name})
  file(MAKE_DIRECTORY ${root})
  file(CREATE_LINK ${dir} ${root}/${folder} SYMBOLIC)
  set(${out} ${root} PARENT_SCOPE)
endfunction()

# A component library from the .cpp files of one folder; an INTERFACE library
# while the folder has only headers.
function(rr_component_library name dir)
  rr_include_root(root ${name} ${dir})
  file(GLOB sources CONFIGURE_DEPENDS ${dir}/*.cpp)
  if(sources)
    add_library(${name} STATIC ${sources})
    target_include_directories(${name} PUBLIC ${root})
    rr_strict_warnings(${name})
    set(scope PUBLIC)
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${root})
    set(scope INTERFACE)
  endif()
  if(ARGN)
    target_link_libraries(${name} ${scope} ${ARGN})
  endif()
endfunction()
