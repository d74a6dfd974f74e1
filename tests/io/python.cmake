# mantissa_find_python(<out-var> <modules>): the first python3 that can import
# every module in the comma-separated <modules>, or "" when none can. Debian's
# /usr/bin/python3 comes first: a python3 earlier on the PATH (pyenv, a venv)
# may not see the python3-numpy and python3-onnx that scripts/setup-deps.sh
# installs.
function(mantissa_find_python out modules)
  find_program(path_python NAMES python3 NO_CACHE)
  set(found "")
  foreach(py /usr/bin/python3 ${path_python})
    if(EXISTS "${py}")
      execute_process(COMMAND "${py}" -c "import ${modules}" RESULT_VARIABLE rc
                      OUTPUT_QUIET ERROR_QUIET)
      if(rc EQUAL 0)
        set(found "${py}")
        break()
      endif()
    endif()
  endforeach()
  set(${out} "${found}" PARENT_SCOPE)
endfunction()
