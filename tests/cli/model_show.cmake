# `mantissa model show` on every sample project: exit 0, a table with totals,
# JSON that parses, and the known totals of the mnist-mlp project.
foreach(var MANTISSA SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()

file(GLOB projects "${SOURCE_DIR}/projects/*.json")
list(LENGTH projects project_count)
if(project_count LESS 4)
  message(FATAL_ERROR "expected at least 4 sample projects in ${SOURCE_DIR}/projects, found ${project_count}")
endif()

foreach(project ${projects})
  execute_process(COMMAND "${MANTISSA}" model show "${project}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "model show ${project}: exit ${rc}\n${err}")
  endif()
  if(NOT out MATCHES "\ntotal " OR NOT out MATCHES "act fp32" OR NOT out MATCHES "% less")
    message(FATAL_ERROR "model show ${project}: no table with totals:\n${out}")
  endif()

  execute_process(COMMAND "${MANTISSA}" model show "${project}" --json
                  RESULT_VARIABLE rc OUTPUT_VARIABLE json ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "model show --json ${project}: exit ${rc}\n${err}")
  endif()
  # string(JSON) stops the script on text that does not parse.
  string(JSON layer_count LENGTH "${json}" layers)
  string(JSON loss_id GET "${json}" loss_id)
  math(EXPR last "${layer_count} - 1")
  string(JSON last_id GET "${json}" layers ${last} id)
  if(layer_count LESS 3 OR NOT last_id STREQUAL loss_id)
    message(FATAL_ERROR "model show --json ${project}: ${layer_count} layers, last '${last_id}', loss '${loss_id}'")
  endif()
endforeach()

set(mlp "${SOURCE_DIR}/projects/mnist-mlp.json")
execute_process(COMMAND "${MANTISSA}" model show "${mlp}" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT out MATCHES "669,706")
  message(FATAL_ERROR "mnist-mlp: expected 669,706 parameters in:\n${out}")
endif()
if(NOT out MATCHES "per batch of 128")
  message(FATAL_ERROR "mnist-mlp: expected figures per batch of the project's 128:\n${out}")
endif()

execute_process(COMMAND "${MANTISSA}" model show "${mlp}" --json --batch 4
                RESULT_VARIABLE rc OUTPUT_VARIABLE json ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "model show --json --batch 4: exit ${rc}\n${err}")
endif()
string(JSON params GET "${json}" totals params)
string(JSON batch GET "${json}" batch_size)
string(JSON per_sample GET "${json}" totals forward_flops_per_sample)
string(JSON per_batch GET "${json}" totals forward_flops_per_batch)
string(JSON act32 GET "${json}" totals activation_bytes float32)
string(JSON act16 GET "${json}" totals activation_bytes mixed_float16)
if(NOT params EQUAL 669706)
  message(FATAL_ERROR "mnist-mlp --json: total params ${params}, expected 669706")
endif()
math(EXPR expected_per_batch "${per_sample} * 4")
if(NOT batch EQUAL 4 OR NOT per_batch EQUAL expected_per_batch)
  message(FATAL_ERROR "--batch 4: batch_size ${batch}, FLOPs per batch ${per_batch} (per sample ${per_sample})")
endif()
if(NOT act16 LESS act32)
  message(FATAL_ERROR "mixed_float16 activations (${act16}) should be smaller than float32 (${act32})")
endif()

execute_process(COMMAND "${MANTISSA}" model show "${mlp}" --batch 0
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "--batch")
  message(FATAL_ERROR "--batch 0: expected exit 1 and a message about --batch, got ${rc}: ${err}")
endif()

# A Reshape into a sequence ([positions, channels], its help's own example)
# is a model; where a mixed policy's casts outweigh its 16-bit activations
# (an fp32 image feeding a Linear), the step's figure says "more", never
# "-5.0% less".
file(WRITE "${WORK_DIR}/model-show-reshape.json" [=[
{"format": "mantissa-project", "version": 1, "name": "r", "dataset": {"kind": "mnist"},
 "model": {"nodes": [
  {"id": "input", "type": "Input", "params": {"shape": [1, 28, 28]}},
  {"id": "seq", "type": "Reshape", "inputs": ["input"], "params": {"shape": [16, 49]}},
  {"id": "fc", "type": "Linear", "inputs": ["seq"], "params": {"out_features": 10}},
  {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc"]}]}}
]=])
execute_process(COMMAND "${MANTISSA}" model show "${WORK_DIR}/model-show-reshape.json"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "seq +Reshape +16×49" OR out MATCHES "\\(-[0-9]"
   OR NOT out MATCHES "training step [^\n]*% more\\)")
  message(FATAL_ERROR "model show of a Reshape to [16, 49]: exit ${rc}\n${out}${err}")
endif()
