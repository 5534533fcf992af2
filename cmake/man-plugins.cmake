# Writes sweepd.ini(5): the configured page IN with its line
# '.\" generated: plugins' replaced by what the built sweepd prints of the
# built plugins (--man-plugins), so that the page's plugin options are the
# plugins' own declarations and cannot drift from them.
#
#   cmake -DSWEEPD=BIN -DPLUGIN_DIR=DIR -DCONF_DIR=EMPTY -DIN=F -DOUT=F -P man-plugins.cmake
file(MAKE_DIRECTORY ${CONF_DIR})
execute_process(COMMAND ${SWEEPD} --conf-dir ${CONF_DIR}
    --plugin-dir ${PLUGIN_DIR} --allow-insecure-files --man-plugins
  OUTPUT_VARIABLE plugins RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "sweepd --man-plugins failed (${rc})")
endif()
set(marker ".\\\" generated: plugins\n")
file(READ ${IN} page)
string(FIND "${page}" "${marker}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${IN}: no line '${marker}' to replace")
endif()
string(REPLACE "${marker}" "${plugins}" page "${page}")
file(WRITE ${OUT} "${page}")
