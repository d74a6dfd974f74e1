# `mantissa train --init-weights`: a run started from another run's exported
# weights (with a negligible learning rate) validates exactly like the run it
# came from, not like a fresh start; weights for another model are refused
# with one message listing what does not fit. The exported file also carries
# its project: copied alone to another folder, it opens as that project (model
# show, train) and its runs start from its weights.
foreach(var MANTISSA SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()
set(dir "${WORK_DIR}/init_weights")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")
set(spirals "${SOURCE_DIR}/projects/spirals.json")

function(val_loss out_var)
  execute_process(COMMAND "${MANTISSA}" train ${ARGN} --json RESULT_VARIABLE rc
                  OUTPUT_VARIABLE json ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "mantissa train ${ARGN}: exit ${rc}\n${err}")
  endif()
  string(JSON v GET "${json}" final_val_loss)
  set(${out_var} "${v}" PARENT_SCOPE)
endfunction()

val_loss(trained "${spirals}" --epochs 2 --db "${db}")
execute_process(COMMAND "${MANTISSA}" export 1 -o "${dir}/w.safetensors" --db "${db}"
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "export: ${err}")
endif()
val_loss(restarted "${spirals}" --epochs 1 --lr 1e-9 --no-store --init-weights "${dir}/w.safetensors")
val_loss(fresh "${spirals}" --epochs 1 --lr 1e-9 --no-store)

# Compare to four decimals as text (CMake has no floating-point math).
string(SUBSTRING "${trained}" 0 6 a)
string(SUBSTRING "${restarted}" 0 6 b)
string(SUBSTRING "${fresh}" 0 6 c)
if(NOT a STREQUAL b)
  message(FATAL_ERROR "--init-weights did not load the trained weights: "
                      "trained ${trained}, restarted ${restarted}")
endif()
if(a STREQUAL c)
  message(FATAL_ERROR "a fresh start validates like the trained run (${fresh}); the test proves nothing")
endif()

execute_process(COMMAND "${MANTISSA}" train "${SOURCE_DIR}/projects/mnist-mlp.json" --steps 1
                        --no-store --init-weights "${dir}/w.safetensors"
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "does not fit the model: wrong shape fc1")
  message(FATAL_ERROR "mismatched weights: exit ${rc}, stderr: ${err}")
endif()

# The weights file on its own, somewhere else: the project comes with it.
file(MAKE_DIRECTORY "${dir}/elsewhere")
file(COPY "${dir}/w.safetensors" DESTINATION "${dir}/elsewhere")
set(bundle "${dir}/elsewhere/w.safetensors")
execute_process(COMMAND "${MANTISSA}" model show "${bundle}" --json RESULT_VARIABLE rc
                OUTPUT_VARIABLE json ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "model show on exported weights: exit ${rc}\n${err}")
endif()
string(JSON name GET "${json}" name)
if(NOT name MATCHES "^spirals$")
  message(FATAL_ERROR "model show on exported weights named project '${name}'")
endif()
val_loss(bundled "${bundle}" --epochs 1 --lr 1e-9 --no-store)
string(SUBSTRING "${bundled}" 0 6 d)
if(NOT a STREQUAL d)
  message(FATAL_ERROR "training from the exported file did not start from its weights: "
                      "trained ${trained}, opened ${bundled}")
endif()
