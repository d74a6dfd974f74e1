# `mantissa train` end to end on the spirals sample: a finished run in the
# database, listed, exported as CSV (one row per step), refused by resume,
# deleted; and a bad --policy refused with one line naming it.
include("${CMAKE_CURRENT_LIST_DIR}/support/common.cmake")

set(dir "${WORK_DIR}/train_spirals")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")
set(project "${SOURCE_DIR}/projects/spirals.json")

# 2,000 samples, a fifth kept for validation, batches of 64: 25 steps per epoch.
mantissa_ok(json train "${project}" --epochs 2 --db "${db}" --json --name "cli test")
string(JSON run_id GET "${json}" run_id)
string(JSON status GET "${json}" status)
string(JSON steps GET "${json}" steps)
string(JSON accuracy GET "${json}" final_val_accuracy)
if(NOT status STREQUAL "finished" OR NOT steps EQUAL 50 OR run_id LESS 1)
  message(FATAL_ERROR "train --json: run ${run_id}, status ${status}, ${steps} steps:\n${json}")
endif()
if(accuracy LESS_EQUAL 0 OR accuracy GREATER 1)
  message(FATAL_ERROR "train --json: validation accuracy ${accuracy} is not a fraction in (0, 1]")
endif()

# The run is in the database, finished, under its name.
mantissa_ok(list runs list --json --db "${db}")
string(JSON count LENGTH "${list}")
set(found FALSE)
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON id GET "${list}" ${i} id)
  if(id EQUAL run_id)
    string(JSON listed_status GET "${list}" ${i} status)
    string(JSON listed_name GET "${list}" ${i} name)
    string(JSON listed_steps GET "${list}" ${i} last_step)
    if(NOT listed_status STREQUAL "finished" OR NOT listed_name STREQUAL "cli test"
       OR NOT listed_steps EQUAL 50)
      message(FATAL_ERROR "runs list: run ${id} is '${listed_name}', ${listed_status}, ${listed_steps} steps")
    endif()
    set(found TRUE)
  endif()
endforeach()
if(NOT found)
  message(FATAL_ERROR "runs list --json does not show run ${run_id}:\n${list}")
endif()
mantissa_ok(table runs list --db "${db}")
if(NOT table MATCHES "cli test +spirals +float32 +finished")
  message(FATAL_ERROR "runs list: no row for the run:\n${table}")
endif()

# CSV: a header, then steps 1..50 in order.
mantissa_ok(csv runs metrics ${run_id} --csv --db "${db}")
string(REGEX REPLACE "\n$" "" csv "${csv}")
string(REPLACE "\n" ";" lines "${csv}")
list(LENGTH lines line_count)
list(GET lines 0 header)
if(NOT header MATCHES "^step,epoch,loss,loss_scale," OR NOT line_count EQUAL 51)
  message(FATAL_ERROR "runs metrics --csv: header '${header}' and ${line_count} lines, expected 51")
endif()
foreach(i RANGE 1 50)
  list(GET lines ${i} row)
  if(NOT row MATCHES "^${i},")
    message(FATAL_ERROR "runs metrics --csv: line ${i} is not step ${i}: ${row}")
  endif()
endforeach()

# Per-tensor numerics: step 50 is the default sample (every 50 steps), stored
# with histograms; each tensor's histogram counts its values.
mantissa_ok(numerics runs numerics ${run_id} --json --db "${db}")
string(JSON stored_step GET "${numerics}" stored_steps 0 step)
string(JSON stored_hist GET "${numerics}" stored_steps 0 histograms)
string(JSON reason GET "${numerics}" reason)
string(JSON tensors LENGTH "${numerics}" tensors)
if(NOT stored_step EQUAL 50 OR NOT stored_hist OR NOT reason STREQUAL "sampled" OR tensors LESS 10)
  message(FATAL_ERROR "runs numerics: step ${stored_step}, histograms ${stored_hist}, "
                      "${tensors} tensors:\n${numerics}")
endif()
string(JSON count GET "${numerics}" tensors 0 count)
string(JSON bins LENGTH "${numerics}" tensors 0 histogram)
set(total 0)
math(EXPR last_bin "${bins} - 1")
foreach(b RANGE ${last_bin})
  string(JSON n GET "${numerics}" tensors 0 histogram ${b})
  math(EXPR total "${total} + ${n}")
endforeach()
if(NOT bins EQUAL 67 OR NOT total EQUAL count OR count LESS 1)
  message(FATAL_ERROR "runs numerics: ${bins} bins holding ${total} of ${count} values")
endif()
mantissa_ok(table runs numerics ${run_id} --layer fc1 --db "${db}")
if(NOT table MATCHES "fc1 output +activation +f32" OR table MATCHES "fc2 output")
  message(FATAL_ERROR "runs numerics --layer fc1:\n${table}")
endif()
execute_process(COMMAND "${MANTISSA}" runs numerics ${run_id} --step 7 --db "${db}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "step 7 of run ${run_id} has no stored numerics \\(stored steps: 50\\)")
  message(FATAL_ERROR "runs numerics --step 7: exit ${rc}: ${err}")
endif()
execute_process(COMMAND "${MANTISSA}" runs numerics ${run_id} --layer nope --db "${db}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "no layer 'nope' in run ${run_id} \\(layers: 'fc1'")
  message(FATAL_ERROR "runs numerics --layer nope: exit ${rc}: ${err}")
endif()

# Finished runs have nothing to resume.
execute_process(COMMAND "${MANTISSA}" resume ${run_id} --db "${db}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "run ${run_id} has already finished")
  message(FATAL_ERROR "resume of a finished run: exit ${rc}: ${err}")
endif()

mantissa_ok(out runs delete ${run_id} --db "${db}")
mantissa_ok(list runs list --json --db "${db}")
if(NOT list MATCHES "^\\[\\]")
  message(FATAL_ERROR "runs delete ${run_id}: still listed:\n${list}")
endif()
execute_process(COMMAND "${MANTISSA}" runs show ${run_id} --db "${db}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "no run ${run_id} in ")
  message(FATAL_ERROR "runs show of a deleted run: exit ${rc}: ${err}")
endif()

# A policy that does not exist: exit 1, one line naming the flag and the value,
# and no run recorded.
execute_process(COMMAND "${MANTISSA}" train "${project}" --policy fp8 --db "${db}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX REPLACE "\n$" "" line "${err}")
if(NOT rc EQUAL 1 OR line MATCHES "\n" OR NOT line MATCHES "^mantissa: --policy: .*'fp8'")
  message(FATAL_ERROR "train --policy fp8: exit ${rc}, stderr:\n${err}")
endif()
mantissa_ok(list runs list --json --db "${db}")
if(NOT list MATCHES "^\\[\\]")
  message(FATAL_ERROR "train --policy fp8 recorded a run:\n${list}")
endif()
