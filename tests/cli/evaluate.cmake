# `mantissa evaluate RUN`: a trained run's newest (or a chosen) checkpoint on
# its validation split, as a table and as JSON; the loss and accuracy equal
# what the trainer recorded for its last epoch; bad requests get one line and
# exit 1.
foreach(var MANTISSA SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()
set(dir "${WORK_DIR}/evaluate")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")

execute_process(COMMAND "${MANTISSA}" train "${SOURCE_DIR}/projects/spirals.json" --db "${db}"
                        --epochs 2 --policy mixed_bfloat16
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "train: exit ${rc}\n${err}")
endif()

execute_process(COMMAND "${MANTISSA}" evaluate 1 --db "${db}" --json
                RESULT_VARIABLE rc OUTPUT_VARIABLE json ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "evaluate --json: exit ${rc}\n${err}")
endif()
execute_process(COMMAND "${MANTISSA}" runs show 1 --db "${db}" --json
                RESULT_VARIABLE rc OUTPUT_VARIABLE show)
string(JSON last LENGTH "${show}" epochs)
math(EXPR last "${last} - 1")
string(JSON val_loss GET "${show}" epochs ${last} val_loss)
string(JSON val_acc GET "${show}" epochs ${last} val_accuracy)
string(JSON last_step GET "${show}" epochs ${last} step)
string(JSON loss GET "${json}" loss)
string(JSON accuracy GET "${json}" accuracy)
string(JSON step GET "${json}" step)
string(JSON samples GET "${json}" samples)
string(JSON correct GET "${json}" correct)
if(NOT loss EQUAL val_loss OR NOT accuracy EQUAL val_acc OR NOT step EQUAL last_step)
  message(FATAL_ERROR "evaluate: loss ${loss} / accuracy ${accuracy} at step ${step}; the run "
                      "recorded ${val_loss} / ${val_acc} at step ${last_step}")
endif()
# The confusion matrix accounts for every sample, its diagonal for the right ones.
string(JSON n LENGTH "${json}" confusion)
set(total 0)
set(diagonal 0)
math(EXPR last_class "${n} - 1")
foreach(t RANGE ${last_class})
  foreach(p RANGE ${last_class})
    string(JSON c GET "${json}" confusion ${t} ${p})
    math(EXPR total "${total} + ${c}")
    if(t EQUAL p)
      math(EXPR diagonal "${diagonal} + ${c}")
    endif()
  endforeach()
endforeach()
if(NOT total EQUAL samples OR NOT diagonal EQUAL correct)
  message(FATAL_ERROR "evaluate: confusion sums to ${total} (${diagonal} right), "
                      "samples ${samples} (${correct} right)")
endif()

execute_process(COMMAND "${MANTISSA}" evaluate 1 --db "${db}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE table ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT table MATCHES "run 1 at step ${step} on cpu: .* accuracy " OR
   NOT table MATCHES "true \\\\ predicted")
  message(FATAL_ERROR "evaluate (table): exit ${rc}\n${table}${err}")
endif()

# Bad requests: one line naming what is wrong, exit 1, nothing on stdout.
function(expect_error expected)
  execute_process(COMMAND "${MANTISSA}" evaluate ${ARGN} --db "${db}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 1 OR NOT out STREQUAL "" OR NOT err MATCHES "${expected}")
    message(FATAL_ERROR "evaluate ${ARGN}: exit ${rc}, stdout '${out}', stderr '${err}' "
                        "(expected '${expected}')")
  endif()
endfunction()
expect_error("no run 42 in " 42)
expect_error("run 1 has no checkpoint at step 3 \\(stored: ${step}[0-9, ]*\\)" 1 --checkpoint 3)
expect_error("unknown device \"gpu\"" 1 --backend gpu)
