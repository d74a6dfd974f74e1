# The loss scaler's what-if from the command line: a mixed_float16 run of the
# spirals sample started at 2^28 backs off for a few steps; `whatif` with the
# run's own settings replays exactly that, other settings are predicted from
# the record, a search finds settings with fewer skips, an fp32 run is
# replayed as fp16 would have run it, and bad input gets one line.
include("${CMAKE_CURRENT_LIST_DIR}/support/common.cmake")

set(dir "${WORK_DIR}/whatif")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")

mantissa_ok(json train "${SOURCE_DIR}/projects/spirals.json" --policy mixed_float16
            --init-scale 268435456 --steps 120 --db "${db}" --json)
string(JSON run GET "${json}" run_id)
string(JSON skipped GET "${json}" skipped_steps)
string(JSON final_scale GET "${json}" final_loss_scale)
if(skipped LESS 2)
  message(FATAL_ERROR "the run did not back off:\n${json}")
endif()

# Its own settings: its skips and final scale, and the record's check holds.
mantissa_ok(own whatif ${run} --json --db "${db}")
string(JSON own_skipped GET "${own}" replay skipped)
string(JSON own_final GET "${own}" replay final_scale)
string(JSON reproduces GET "${own}" own_settings reproduces_run)
string(JSON nsteps LENGTH "${own}" replay per_step)
string(JSON first_scale GET "${own}" replay per_step 0 scale)
if(NOT own_skipped EQUAL skipped OR NOT own_final EQUAL final_scale OR NOT reproduces
   OR NOT nsteps EQUAL 120 OR NOT first_scale EQUAL 268435456)
  message(FATAL_ERROR "whatif with the run's own settings:\n${own}")
endif()

# Branch to verify: from 2^16 the first decision differs at step 1, so the
# branch trains from the start; its skips are the predicted ones, and it is
# stored as a child of the run.
mantissa_ok(br whatif ${run} --init-scale 65536 --branch --json --db "${db}")
string(JSON br_run GET "${br}" branch run)
string(JSON br_from GET "${br}" branch from_step)
string(JSON br_ok GET "${br}" branch verified)
string(JSON br_pred GET "${br}" branch predicted_skips)
string(JSON br_real GET "${br}" branch actual_skips)
if(NOT br_from EQUAL 0 OR NOT br_ok OR NOT br_pred EQUAL br_real)
  message(FATAL_ERROR "whatif --branch:\n${br}")
endif()
mantissa_ok(child runs show ${br_run} --json --db "${db}")
string(JSON parent GET "${child}" parent_run_id)
if(NOT parent EQUAL run)
  message(FATAL_ERROR "the branch is not a child of run ${run}:\n${child}")
endif()

# From 2^16 nothing overflows here: no skips, and the first step already
# decides otherwise than the run.
mantissa_ok(low whatif ${run} --init-scale 65536 --json --db "${db}")
string(JSON low_skipped GET "${low}" replay skipped)
string(JSON low_first GET "${low}" replay first_difference)
if(NOT low_skipped EQUAL 0 OR NOT low_first EQUAL 1)
  message(FATAL_ERROR "whatif --init-scale 65536:\n${low}")
endif()
mantissa_ok(text whatif ${run} --init-scale 65536 --search --db "${db}")
if(NOT text MATCHES "the run's own settings replay its scale path and skips exactly"
   OR NOT text MATCHES "exact up to step 1," OR NOT text MATCHES "best of 150 settings searched")
  message(FATAL_ERROR "whatif (text):\n${text}")
endif()

# An fp32 run: what fp16's scaler would have done on its steps.
mantissa_ok(json32 train "${SOURCE_DIR}/projects/spirals.json" --policy float32 --steps 60
            --db "${db}" --json)
string(JSON run32 GET "${json32}" run_id)
mantissa_ok(text32 whatif ${run32} --init-scale 268435456 --db "${db}")
if(NOT text32 MATCHES "as mixed_float16 would have run it" OR NOT text32 MATCHES "an estimate"
   OR NOT text32 MATCHES "forward pass: no stored activation reaches 65,520")
  message(FATAL_ERROR "whatif of an fp32 run:\n${text32}")
endif()
mantissa_ok(j32 whatif ${run32} --init-scale 268435456 --json --db "${db}")
string(JSON predicted GET "${j32}" replay skipped)
string(JSON nforward LENGTH "${j32}" fp16_forward_overflows)
if(NOT nforward EQUAL 0)
  message(FATAL_ERROR "the spirals MLP has no activation near 65,520:\n${j32}")
endif()
if(predicted LESS 1)
  message(FATAL_ERROR "fp16 from 2^28 overflows on these gradients; predicted none:\n${j32}")
endif()

# Bad input: one line each.
foreach(case "999;no run 999" "${run};--growth-factor;0.5;--growth-factor: must be a number from 1 to 1e+06, got 0.5"
             "${run};--mode;sometimes;sometimes"
             "${run};--min-scale;10;--max-scale;1;--max-scale (1) must not be below --min-scale (10)"
             "${run};--init-scale;0;--init-scale: must be a number greater than 0, got 0"
             "abc;'abc' is not a run id"
             "99999999999999999999;'99999999999999999999' is not a run id")
  list(POP_BACK case want)
  mantissa_refuses("${want}" whatif ${case} --db "${db}")
endforeach()
