# sweepd_add_plugin(NAME SOURCES file.c ... [OUTPUT_DIRECTORY dir])
#
# Builds the sweepd plugin NAME.so: a MODULE (loaded with dlopen, never
# linked), no "lib" prefix (jobs name plugins by file name, and the loader
# requires the file name to equal the descriptor's name), hidden visibility
# and a version script so sweep_plugin_entry is the only symbol exported,
# and -z defs so that a symbol found neither in the plugin, nor libpq, nor
# libc fails the link now instead of the load later.  It links sweepd::sdk
# (headers and libpq) and nothing of the host.
set(_sweepd_plugin_map "${CMAKE_CURRENT_LIST_DIR}/sweepd-plugin.map")

function(sweepd_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "OUTPUT_DIRECTORY" "SOURCES")
  if(NOT name MATCHES "^[a-z0-9_-]+$")
    message(FATAL_ERROR "sweepd_add_plugin(${name}): a plugin name is made "
      "of a-z, 0-9, '_' and '-' (it is the file name without .so and the "
      "descriptor's .name)")
  endif()
  set(sources ${arg_SOURCES} ${arg_UNPARSED_ARGUMENTS})
  if(NOT sources)
    message(FATAL_ERROR "sweepd_add_plugin(${name}): no SOURCES")
  endif()
  add_library(${name} MODULE ${sources})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    SUFFIX ".so"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS "${_sweepd_plugin_map}")
  if(arg_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY "${arg_OUTPUT_DIRECTORY}")
  endif()
  target_link_libraries(${name} PRIVATE sweepd::sdk)
  target_link_options(${name} PRIVATE "LINKER:-z,defs"
    "LINKER:--version-script=${_sweepd_plugin_map}")
endfunction()
