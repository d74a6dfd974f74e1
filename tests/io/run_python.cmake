# cmake -DSCRIPT=<file.py> -DMODULES=<a,b> -DARGS=<arg|arg|...> -P run_python.cmake
# Runs the script with a python3 that has the modules; prints "SKIPPED: ..."
# (the test's SKIP_REGULAR_EXPRESSION) when no interpreter has them.
include(${CMAKE_CURRENT_LIST_DIR}/python.cmake)
mantissa_find_python(python "${MODULES}")
if(NOT python)
  message("SKIPPED: no python3 can import ${MODULES} (scripts/setup-deps.sh installs python3-numpy and python3-onnx)")
  return()
endif()
string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND "${python}" "${SCRIPT}" ${args} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${SCRIPT} exited with ${rc}")
endif()
