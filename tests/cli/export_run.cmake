# `mantissa export` on a trained run: safetensors (f32, f16, bf16, latest and
# an earlier checkpoint) and ONNX, checked by the independent readers in
# tests/io; and a clear message with exit 1 for every bad request.
foreach(var MANTISSA SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()
include(${SOURCE_DIR}/tests/io/python.cmake)

# The run database comes from the fixture program that tests/io builds.
cmake_path(GET WORK_DIR PARENT_PATH tests_binary_dir)
set(fixtures "${tests_binary_dir}/io/mantissa_io_fixtures")
if(NOT EXISTS "${fixtures}")
  message(FATAL_ERROR "${fixtures} is missing (built with the tests in tests/io)")
endif()
set(dir "${WORK_DIR}/export_run")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")
execute_process(COMMAND "${fixtures}" run "${db}" "${dir}/expected"
                RESULT_VARIABLE rc OUTPUT_VARIABLE ids ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fixture run failed (${rc}): ${err}")
endif()
string(STRIP "${ids}" ids)
string(REPLACE " " ";" ids "${ids}")
list(GET ids 0 run)
list(GET ids 1 empty_run)

function(export_ok out_var)
  execute_process(COMMAND "${MANTISSA}" export ${ARGN} --db "${db}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "export ${ARGN}: exit ${rc}\n${out}${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

function(export_fails expected_message)
  execute_process(COMMAND "${MANTISSA}" export ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(STRIP "${err}" err)
  if(NOT rc EQUAL 1 OR NOT err MATCHES "${expected_message}" OR err MATCHES "\n")
    message(FATAL_ERROR "export ${ARGN}: expected exit 1 and one line matching "
                        "'${expected_message}', got ${rc}:\n${err}")
  endif()
endfunction()

# ---- exports that work
export_ok(out ${run} --format safetensors -o "${dir}/latest.safetensors")
if(NOT out MATCHES "run ${run} step 12, 15 tensors in f32")
  message(FATAL_ERROR "unexpected summary: ${out}")
endif()
export_ok(out ${run} --dtype f16 -o "${dir}/latest.f16.safetensors")
export_ok(out ${run} --dtype bf16 --checkpoint 6 -o "${dir}/step6.bf16.safetensors")
if(NOT out MATCHES "step 6,")
  message(FATAL_ERROR "--checkpoint 6 exported: ${out}")
endif()
export_ok(out ${run} -o "${dir}/latest.onnx")
export_ok(out ${run} --format onnx --dtype f16 -o "${dir}/latest.f16.onnx")
foreach(f latest.safetensors latest.f16.safetensors step6.bf16.safetensors latest.onnx latest.f16.onnx)
  if(NOT EXISTS "${dir}/${f}")
    message(FATAL_ERROR "export did not write ${f}")
  endif()
endforeach()

# ---- what the files hold, read by code that shares nothing with the engine
mantissa_find_python(python "numpy")
if(NOT python)
  message("SKIPPED: no python3 with numpy; the exported files were not read back")
else()
  set(reader "${SOURCE_DIR}/tests/io/read_safetensors.py")
  foreach(check "latest.safetensors;latest;f32;12" "latest.f16.safetensors;latest;f16;12"
                "step6.bf16.safetensors;step6;bf16;6")
    list(GET check 0 file)
    list(GET check 1 expect)
    list(GET check 2 dtype)
    list(GET check 3 step)
    execute_process(COMMAND "${python}" "${reader}" "${dir}/${file}" --expect "${dir}/expected/${expect}"
                            --dtype ${dtype} --meta run_id=${run} --meta step=${step}
                            --meta policy=float32 --meta project_name=io-dense
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "read_safetensors.py ${file}:\n${out}${err}")
    endif()
    message(STATUS "${out}")
  endforeach()
  mantissa_find_python(python_onnx "numpy,onnx")
  if(NOT python_onnx)
    message("SKIPPED: no python3 with onnx; the ONNX export was not checked")
  else()
    foreach(dtype f32 f16)
      set(file latest.onnx)
      if(dtype STREQUAL "f16")
        set(file latest.f16.onnx)
      endif()
      # The engine's float32 inference is the reference for both; fp16's
      # tolerance covers the rounding of the 16-bit weights.
      execute_process(COMMAND "${python_onnx}" "${SOURCE_DIR}/tests/io/check_onnx.py" "${dir}/${file}"
                              --input "${dir}/expected/input.npy" --expected "${dir}/expected/expected.npy"
                              --dtype ${dtype}
                      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
      if(NOT rc EQUAL 0)
        message(FATAL_ERROR "check_onnx.py ${file}:\n${out}${err}")
      endif()
      message(STATUS "${out}")
    endforeach()
  endif()
endif()

# ---- bad requests: one line, exit 1, nothing written
export_fails("no run 999 in" 999 -o "${dir}/x.safetensors" --db "${db}")
export_fails("run ${run} has no checkpoint at step 5 \\(stored: 12, 6\\)"
             ${run} --checkpoint 5 -o "${dir}/x.safetensors" --db "${db}")
export_fails("run ${empty_run} has no checkpoint to export"
             ${empty_run} -o "${dir}/x.safetensors" --db "${db}")
export_fails("/etc/passwd/x.safetensors: cannot write"
             ${run} -o /etc/passwd/x.safetensors --db "${db}")
export_fails("--dtype bf16 is for safetensors" ${run} --dtype bf16 -o "${dir}/x.onnx" --db "${db}")
export_fails("--dtype: unknown dtype 'f8'" ${run} --dtype f8 -o "${dir}/x.safetensors" --db "${db}")
export_fails("--format 'tflite' is not known" ${run} --format tflite -o "${dir}/x" --db "${db}")
export_fails("say --format safetensors or --format onnx" ${run} -o "${dir}/x.bin" --db "${db}")
export_fails("no run database here" ${run} -o "${dir}/x.safetensors" --db "${dir}/nowhere.db")
if(EXISTS "${dir}/x.safetensors" OR EXISTS "${dir}/x.onnx" OR EXISTS "${dir}/nowhere.db")
  message(FATAL_ERROR "a failed export left a file behind")
endif()
file(GLOB temporaries "${dir}/.*.tmp-*")
if(temporaries)
  message(FATAL_ERROR "temporary files left behind: ${temporaries}")
endif()
