# `mantissa bench --json`: valid JSON with one result per policy asked for and
# a positive throughput in each timed window.
foreach(var MANTISSA SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()

execute_process(COMMAND "${MANTISSA}" bench --help RESULT_VARIABLE rc OUTPUT_VARIABLE help)
foreach(option --steps --warmup --policies --json)
  if(NOT help MATCHES "\n +${option} ")
    message(FATAL_ERROR "bench --help does not list ${option}:\n${help}")
  endif()
endforeach()

execute_process(COMMAND "${MANTISSA}" bench mlp --steps 6 --warmup 2 --policies float32 --json
                RESULT_VARIABLE rc OUTPUT_VARIABLE json ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "bench --json: exit ${rc}\n${err}")
endif()
string(JSON workload GET "${json}" workload)
string(JSON warmup GET "${json}" warmup_steps)
string(JSON window GET "${json}" window_steps)
string(JSON count LENGTH "${json}" results)
if(NOT workload STREQUAL "mlp" OR NOT warmup EQUAL 2 OR NOT count EQUAL 1)
  message(FATAL_ERROR "bench --json: workload ${workload}, warm-up ${warmup}, ${count} results:\n${json}")
endif()
# 6 timed steps in 3 windows.
if(NOT window EQUAL 2)
  message(FATAL_ERROR "bench --json: --steps 6 should give windows of 2 steps, got ${window}")
endif()
string(JSON policy GET "${json}" results 0 policy)
string(JSON steps_per_s GET "${json}" results 0 steps_per_s)
string(JSON samples_per_s GET "${json}" results 0 samples_per_s)
string(JSON windows LENGTH "${json}" results 0 steps_per_s_windows)
if(NOT policy STREQUAL "float32" OR NOT windows EQUAL 3)
  message(FATAL_ERROR "bench --json: policy ${policy}, ${windows} windows:\n${json}")
endif()
if(NOT steps_per_s GREATER 0 OR NOT samples_per_s GREATER 0)
  message(FATAL_ERROR "bench --json: steps/s ${steps_per_s}, samples/s ${samples_per_s}")
endif()
foreach(i 0 1 2)
  string(JSON w GET "${json}" results 0 steps_per_s_windows ${i})
  if(NOT w GREATER 0)
    message(FATAL_ERROR "bench --json: window ${i} has ${w} steps/s")
  endif()
endforeach()
# steps/s is the median of the windows, so it is one of them.
set(ok FALSE)
foreach(i 0 1 2)
  string(JSON w GET "${json}" results 0 steps_per_s_windows ${i})
  if(w EQUAL steps_per_s)
    set(ok TRUE)
  endif()
endforeach()
if(NOT ok)
  message(FATAL_ERROR "bench --json: steps_per_s ${steps_per_s} is none of its windows")
endif()
# The model's estimate of a step's activations is reported beside the
# measured ones and, for the float32 MLP, equals them.
string(JSON measured GET "${json}" results 0 activation_memory)
string(JSON estimated GET "${json}" results 0 estimated_activation_memory)
if(NOT measured GREATER 0 OR NOT estimated EQUAL measured)
  message(FATAL_ERROR "bench --json: activations ${measured} measured, ${estimated} estimated")
endif()
# The CPU backend has one way to run each op: no library paths to report.
string(JSON paths LENGTH "${json}" results 0 op_paths)
string(JSON fallbacks GET "${json}" results 0 fallback_path_calls)
if(NOT paths EQUAL 0 OR NOT fallbacks EQUAL 0)
  message(FATAL_ERROR "bench --json on the CPU: ${paths} op paths, ${fallbacks} fallback calls")
endif()

# Several workloads in one call: an array, one object per workload, in order.
execute_process(COMMAND "${MANTISSA}" bench mlp cnn --steps 3 --warmup 0 --policies bfloat16 --json
                RESULT_VARIABLE rc OUTPUT_VARIABLE json ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "bench mlp cnn --json: exit ${rc}\n${err}")
endif()
string(JSON n LENGTH "${json}")
string(JSON first GET "${json}" 0 workload)
string(JSON second GET "${json}" 1 workload)
string(JSON policy GET "${json}" 1 results 0 policy)
if(NOT n EQUAL 2 OR NOT first STREQUAL "mlp" OR NOT second STREQUAL "cnn"
   OR NOT policy STREQUAL "bfloat16")
  message(FATAL_ERROR "bench mlp cnn --json: ${n} entries (${first}, ${second}), ${policy}:\n${json}")
endif()
# A bad name among several is refused before anything runs, and named.
execute_process(COMMAND "${MANTISSA}" bench mlp gpt9 --steps 3 --json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "unknown workload 'gpt9'" OR NOT out STREQUAL "")
  message(FATAL_ERROR "bench mlp gpt9: exit ${rc}, stdout '${out}', stderr '${err}'")
endif()

# --windows sets how many timed windows each variant gets; --numerics both
# times each policy twice and reports the cost as a paired median.
execute_process(COMMAND "${MANTISSA}" bench mlp --steps 10 --warmup 1 --windows 5
                        --policies float32 --numerics both --json
                RESULT_VARIABLE rc OUTPUT_VARIABLE json ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "bench --windows 5 --numerics both: exit ${rc}\n${err}")
endif()
string(JSON count LENGTH "${json}" results)
string(JSON windows LENGTH "${json}" results 1 steps_per_s_windows)
string(JSON window GET "${json}" window_steps)
string(JSON on GET "${json}" results 0 numerics)
string(JSON off GET "${json}" results 1 numerics)
string(JSON cost GET "${json}" numerics_cost float32)
string(JSON lower GET "${json}" numerics_cost_middle_half float32 0)
string(JSON upper GET "${json}" numerics_cost_middle_half float32 1)
if(NOT count EQUAL 2 OR NOT windows EQUAL 5 OR NOT window EQUAL 2 OR NOT on OR off
   OR NOT cost MATCHES "^-?[0-9.e+-]+$" OR lower GREATER cost OR cost GREATER upper)
  message(FATAL_ERROR "bench --windows 5 --numerics both: ${count} results, ${windows} windows "
                      "of ${window}, numerics ${on}/${off}, cost '${cost}' (middle half "
                      "${lower} to ${upper}):\n${json}")
endif()
execute_process(COMMAND "${MANTISSA}" bench mlp --steps 3 --windows 4 --json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "--steps must be at least --windows")
  message(FATAL_ERROR "bench --steps 3 --windows 4: exit ${rc}, stderr '${err}'")
endif()
# Absurd thread counts and negative buckets are refused before anything runs
# (100,000 threads crashed in OpenMP's thread creation).
include("${CMAKE_CURRENT_LIST_DIR}/support/common.cmake")
foreach(case "--threads;100000|--threads must be from 1 to 1024, got 100000"
             "--threads;0|--threads must be from 1 to 1024, got 0"
             "--bucket-mb;-1|--bucket-mb must be a number of MB >= 0"
             "--processes;1,65|--processes: '65' is not a number of ranks from 1 to 64")
  string(REPLACE "|" ";" parts "${case}")
  list(POP_BACK parts expected)
  mantissa_refuses("${expected}" bench mlp --steps 3 --windows 1 --warmup 1 ${parts})
endforeach()
