# CMake package config of the modelport C library: find_package(modelport) with CMAKE_PREFIX_PATH set
# to the unpacked tarball (or wherever lib/ and include/ were installed).
#
#   modelport::modelport         the shared library (libmodelport.so)
#   modelport::modelport_static  the static library (libmodelport.a, with its system libraries)
get_filename_component(_modelport_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

if(NOT TARGET modelport::modelport)
  add_library(modelport::modelport SHARED IMPORTED)
  set_target_properties(modelport::modelport PROPERTIES
    IMPORTED_LOCATION "${_modelport_prefix}/lib/libmodelport.so"
    IMPORTED_SONAME "libmodelport.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_modelport_prefix}/include")
endif()

# The static library needs the system libraries Rust's standard library uses (rustc's
# native-static-libs for x86_64-unknown-linux-gnu).
include(CMakeFindDependencyMacro)
find_dependency(Threads)
if(NOT TARGET modelport::modelport_static)
  add_library(modelport::modelport_static STATIC IMPORTED)
  set_target_properties(modelport::modelport_static PROPERTIES
    IMPORTED_LOCATION "${_modelport_prefix}/lib/libmodelport.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_modelport_prefix}/include"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;gcc_s;util;rt;m;${CMAKE_DL_LIBS};c")
endif()

set(modelport_INCLUDE_DIRS "${_modelport_prefix}/include")
set(modelport_LIBRARIES modelport::modelport)
unset(_modelport_prefix)
