# The CUDA backend is a module the registry loads when present.
# 1. An install of the main component alone (what the `mantissa` package
#    holds) starts, lists the CPU and says the CUDA backend is not installed;
#    it trains on the CPU and refuses --backend cuda with that reason.
# 2. A module that needs a library out of reach is named with that library.
foreach(var MANTISSA BUILD_DIR FAKE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --component runtime
                        --prefix "${prefix}"
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "installing the runtime component failed: ${err}")
endif()
set(installed "${prefix}/bin/mantissa")
file(GLOB_RECURSE modules "${prefix}/*mantissa-cuda*")
if(modules)
  message(FATAL_ERROR "the main component installed the CUDA module: ${modules}")
endif()

# A clean environment: no module path, no library path of the build tree.
set(clean ${CMAKE_COMMAND} -E env --unset=MANTISSA_BACKEND_PATH --unset=LD_LIBRARY_PATH)
execute_process(COMMAND ${clean} "${installed}" devices
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "cpu " OR
   NOT out MATCHES "cuda +unavailable: the CUDA backend is not installed \\(no libmantissa-cuda.so in ")
  message(FATAL_ERROR "installed mantissa devices: exit ${rc}\n${out}${err}")
endif()

file(WRITE "${WORK_DIR}/tiny.json" [=[
{"format": "mantissa-project", "version": 1, "name": "tiny",
 "dataset": {"kind": "spirals", "samples": 64, "classes": 2, "seed": 1},
 "model": {"nodes": [
   {"id": "input", "type": "Input", "params": {"shape": [2]}},
   {"id": "fc", "type": "Linear", "inputs": ["input"], "params": {"out_features": 2}},
   {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc"]}]},
 "training": {"policy": "float32", "batch_size": 16, "epochs": 1, "seed": 1}}
]=])
execute_process(COMMAND ${clean} "${installed}" train "${WORK_DIR}/tiny.json"
                        --db "${WORK_DIR}/runs.db"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "installed mantissa train on the CPU: exit ${rc}\n${out}${err}")
endif()
execute_process(COMMAND ${clean} "${installed}" train "${WORK_DIR}/tiny.json"
                        --db "${WORK_DIR}/runs.db" --backend cuda
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "device \"cuda\" is not available: the CUDA backend is not installed")
  message(FATAL_ERROR "installed mantissa train --backend cuda: exit ${rc}\n${out}${err}")
endif()

# A module whose library is out of reach: the reason names the library.
execute_process(COMMAND ${CMAKE_COMMAND} -E env "MANTISSA_BACKEND_PATH=${FAKE_DIR}"
                        --unset=LD_LIBRARY_PATH "${MANTISSA}" devices
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "cpu " OR
   NOT out MATCHES "could not be loaded: libmantissa_test_stub.so: cannot open shared object file")
  message(FATAL_ERROR "devices with an unloadable module: exit ${rc}\n${out}${err}")
endif()
message(STATUS "backend modules: missing and unloadable modules are reported, the CPU works")
