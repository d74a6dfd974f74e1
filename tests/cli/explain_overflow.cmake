# Overflow provenance from the command line: a mixed_float16 run with a few
# rows of 3,000 skips steps; `explain` says where a skipped step first went
# non-finite and whether the loss scale caused it, `runs numerics` has the
# event step, and a step that was not traced is refused, naming those that were.
include("${CMAKE_CURRENT_LIST_DIR}/support/common.cmake")

set(dir "${WORK_DIR}/explain_overflow")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")

# 256 rows; every 40th has a first feature of 3,000.
set(csv "a,b,label\n")
foreach(i RANGE 255)
  math(EXPR m "${i} % 40")
  math(EXPR cls "${i} % 2")
  math(EXPR b "${i} % 7")
  if(m EQUAL 7)
    string(APPEND csv "3000,0.${b},${cls}\n")
  else()
    string(APPEND csv "0.${b},0.${m},${cls}\n")
  endif()
endforeach()
file(WRITE "${dir}/rows.csv" "${csv}")
file(WRITE "${dir}/blow.json" [=[{"format": "mantissa-project", "version": 1, "name": "blow",
  "dataset": {"kind": "csv", "path": "rows.csv", "normalize": false, "validation_fraction": 0},
  "model": {"nodes": [
    {"id": "input", "type": "Input", "params": {"shape": [2]}},
    {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 64}},
    {"id": "act1", "type": "ReLU", "inputs": ["fc1"]},
    {"id": "fc2", "type": "Linear", "inputs": ["act1"], "params": {"out_features": 64}},
    {"id": "act2", "type": "GELU", "inputs": ["fc2"]},
    {"id": "fc3", "type": "Linear", "inputs": ["act2"], "params": {"out_features": 2}},
    {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc3"]}]},
  "training": {"policy": "mixed_float16", "batch_size": 32, "epochs": 2, "seed": 1,
               "optimizer": {"type": "sgd", "lr": 0.01, "momentum": 0.9}}}]=])

mantissa_ok(json train "${dir}/blow.json" --db "${db}" --json)
string(JSON run_id GET "${json}" run_id)
string(JSON skipped GET "${json}" skipped_steps)
if(skipped LESS 1)
  message(FATAL_ERROR "no step skipped: the test model no longer overflows\n${json}")
endif()

mantissa_ok(record explain ${run_id} --db "${db}" --json)
string(JSON step GET "${record}" step)
string(JSON layer GET "${record}" first layer)
string(JSON classification GET "${record}" classification)
string(JSON reproduced GET "${record}" reproduced)
string(JSON sentence GET "${record}" sentence)
if(NOT reproduced OR layer STREQUAL "" OR NOT classification MATCHES "^scale-(induced|independent)$"
   OR NOT sentence MATCHES "^Step ${step} \\(scale ")
  message(FATAL_ERROR "explain --json:\n${record}")
endif()
mantissa_ok(text explain ${run_id} --db "${db}")
if(NOT text MATCHES "was the first to go non-finite" OR NOT text MATCHES "classification: ")
  message(FATAL_ERROR "explain:\n${text}")
endif()

# The event step's numerics are stored, all slots with them.
mantissa_ok(numerics runs numerics ${run_id} --step ${step} --json --db "${db}")
string(JSON reason GET "${numerics}" reason)
if(NOT reason STREQUAL "event")
  message(FATAL_ERROR "runs numerics --step ${step}: reason ${reason}")
endif()

# The run's numerics manifest: what decided its arithmetic.
mantissa_ok(manifest runs manifest ${run_id} --json --db "${db}")
string(JSON backend GET "${manifest}" backend)
string(JSON isa GET "${manifest}" onednn effective_isa)
string(JSON kernels LENGTH "${manifest}" op_paths)
string(JSON fingerprint GET "${manifest}" dataset_fingerprint)
string(JSON reproducibility GET "${manifest}" reproducibility)
if(NOT backend STREQUAL "cpu" OR isa STREQUAL "" OR kernels LESS 1 OR fingerprint STREQUAL ""
   OR NOT reproducibility MATCHES "^bitwise here")
  message(FATAL_ERROR "runs manifest --json:\n${manifest}")
endif()
mantissa_ok(text runs manifest ${run_id} --db "${db}")
if(NOT text MATCHES "kernels:\n" OR NOT text MATCHES "\n    matmul: " OR NOT text MATCHES "effective_isa")
  message(FATAL_ERROR "runs manifest:\n${text}")
endif()

# A step that was not traced: one line naming the traced ones.
execute_process(COMMAND "${MANTISSA}" explain ${run_id} --step 100000 --db "${db}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "step 100000 of run ${run_id} has no traced event \\(traced steps: ${step}")
  message(FATAL_ERROR "explain --step 100000: exit ${rc}: ${err}")
endif()

# The heatmap form of `runs numerics`: one row per tensor, one value per
# stored step; the event step's first non-finite tensor shows a non-zero
# non-finite share there, and every share lies in [0, 100].
mantissa_ok(heat runs numerics ${run_id} --heatmap nonfinite --json --db "${db}")
string(JSON metric GET "${heat}" metric)
string(JSON nsteps LENGTH "${heat}" steps)
string(JSON ntensors LENGTH "${heat}" tensors)
mantissa_ok(all runs numerics ${run_id} --json --db "${db}")
string(JSON stored LENGTH "${all}" stored_steps)
string(JSON slots LENGTH "${all}" tensors)
if(NOT metric STREQUAL "nonfinite" OR NOT nsteps EQUAL stored OR NOT ntensors EQUAL slots)
  message(FATAL_ERROR "runs numerics --heatmap: ${metric}, ${nsteps} steps of ${stored}, "
                      "${ntensors} tensors of ${slots}")
endif()
set(event_column -1)
math(EXPR last "${nsteps} - 1")
foreach(c RANGE ${last})
  string(JSON s GET "${heat}" steps ${c})
  if(s EQUAL step)
    set(event_column ${c})
  endif()
endforeach()
set(bad 0)
math(EXPR last_t "${ntensors} - 1")
foreach(r RANGE ${last_t})
  string(JSON v GET "${heat}" tensors ${r} values ${event_column})
  if(NOT v STREQUAL "null" AND v GREATER 0)
    math(EXPR bad "${bad} + 1")
  endif()
  if(NOT v STREQUAL "null" AND (v LESS 0 OR v GREATER 100))
    message(FATAL_ERROR "runs numerics --heatmap: share ${v} out of range")
  endif()
endforeach()
if(event_column LESS 0 OR bad LESS 1)
  message(FATAL_ERROR "runs numerics --heatmap: event step ${step} (column ${event_column}) "
                      "shows ${bad} non-finite tensors:\n${heat}")
endif()
mantissa_ok(text runs numerics ${run_id} --heatmap headroom --layer fc1 --db "${db}")
if(NOT text MATCHES "headroom to 65,504" OR NOT text MATCHES "fc1 output" OR text MATCHES "fc2 output"
   OR NOT text MATCHES "${step}!")
  message(FATAL_ERROR "runs numerics --heatmap headroom --layer fc1:\n${text}")
endif()
execute_process(COMMAND "${MANTISSA}" runs numerics ${run_id} --heatmap flushes --db "${db}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "unknown metric 'flushes' \\(one of flush, subnormal")
  message(FATAL_ERROR "runs numerics --heatmap flushes: exit ${rc}: ${err}")
endif()
