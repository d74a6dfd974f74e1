# `mantissa train` end to end on the spirals sample: a finished run in the
# database, listed, exported as CSV (one row per step), refused by resume,
# deleted; and a bad --policy refused with one line naming it.
foreach(var MANTISSA SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()

set(dir "${WORK_DIR}/train_spirals")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")
set(project "${SOURCE_DIR}/projects/spirals.json")

function(mantissa_ok out_var)
  execute_process(COMMAND "${MANTISSA}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "mantissa ${ARGN}: exit ${rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

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
