# Virtual ranks from the command line: the spirals sample with each batch
# cut into 4 shards trains to the same losses as the full batch within 1e-5
# relative (float32), the project snapshot keeps the count, and a count
# below 1 gets one line naming the flag.
include("${CMAKE_CURRENT_LIST_DIR}/support/common.cmake")

set(dir "${WORK_DIR}/virtual_ranks")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")

foreach(k 1 4)
  mantissa_ok(json train "${SOURCE_DIR}/projects/spirals.json" --policy float32 --steps 20
              --virtual-ranks ${k} --db "${db}" --json)
  string(JSON run_${k} GET "${json}" run_id)
  string(JSON loss_${k} GET "${json}" final_train_loss)
endforeach()
# Within 1e-5 relative: the first 6 significant digits agree (measured:
# 0.70988393 and 0.70988399).
string(SUBSTRING "${loss_1}" 0 7 head_1)
string(SUBSTRING "${loss_4}" 0 7 head_4)
if(NOT head_1 STREQUAL head_4)
  message(FATAL_ERROR "4 shards and the full batch differ: ${loss_4} against ${loss_1}")
endif()
mantissa_ok(shown runs show ${run_4} --json --db "${db}")
string(JSON ranks GET "${shown}" project_snapshot training virtual_ranks)
if(NOT ranks EQUAL 4)
  message(FATAL_ERROR "the snapshot lost the virtual ranks:\n${shown}")
endif()

foreach(k 0 5000)
  execute_process(COMMAND "${MANTISSA}" train "${SOURCE_DIR}/projects/spirals.json" --steps 2
                          --virtual-ranks ${k} --db "${db}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  # The project file's limit, 4096, holds on the command line too.
  if(rc EQUAL 0 OR NOT err MATCHES "--virtual-ranks must be from 1 to 4096, got ${k}")
    message(FATAL_ERROR "train --virtual-ranks ${k}: exit ${rc}, stderr: ${err}")
  endif()
endforeach()
