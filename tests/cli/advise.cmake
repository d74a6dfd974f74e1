# Guided fixes from the command line: a mixed_float16 spirals run started at
# 2^30 skips its first steps; `advise` finds the burst and proposes an
# initial scale from the what-if; `--try` trains it as a child run linked to
# the run, with fewer skips, and stores the outcome in its notes; bad input
# gets one line.
include("${CMAKE_CURRENT_LIST_DIR}/support/common.cmake")

set(dir "${WORK_DIR}/advise")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")

mantissa_ok(json train "${SOURCE_DIR}/projects/spirals.json" --policy mixed_float16
            --init-scale 1073741824 --steps 60 --db "${db}" --json)
string(JSON run GET "${json}" run_id)
string(JSON skipped GET "${json}" skipped_steps)
if(skipped LESS 3)
  message(FATAL_ERROR "the run did not skip at its start:\n${json}")
endif()

mantissa_ok(advice advise ${run} --json --db "${db}")
string(JSON rule GET "${advice}" findings 0 rule)
string(JSON evidence GET "${advice}" findings 0 evidence)
string(JSON title GET "${advice}" findings 0 fixes 0 title)
if(NOT rule STREQUAL "early-skips" OR NOT evidence MATCHES "of the first 20 steps were skipped"
   OR NOT title MATCHES "^start the loss scale at 2\\^")
  message(FATAL_ERROR "advise --json:\n${advice}")
endif()
mantissa_ok(text advise ${run} --db "${db}")
if(NOT text MATCHES "1\\. \\[early-skips\\]" OR NOT text MATCHES "fix 1: start the loss scale")
  message(FATAL_ERROR "advise:\n${text}")
endif()

mantissa_ok(tried advise ${run} --try 1 --json --db "${db}")
string(JSON child GET "${tried}" child_run)
string(JSON child_skipped GET "${tried}" skipped)
string(JSON run_skipped GET "${tried}" run_skipped)
if(NOT child_skipped LESS run_skipped OR NOT run_skipped EQUAL skipped)
  message(FATAL_ERROR "advise --try 1:\n${tried}")
endif()
mantissa_ok(shown runs show ${child} --db "${db}")
if(NOT shown MATCHES "parent run +${run}" OR NOT shown MATCHES "Outcome: skipped ${child_skipped} of 60")
  message(FATAL_ERROR "runs show ${child}:\n${shown}")
endif()

# The fix tried is listed, undecided; accepted, it is stored with its outcome
# and the same fix offered for the same finding cites it.
mantissa_ok(listed advise ${run} --json --db "${db}")
string(JSON t_run GET "${listed}" tried 0 run)
string(JSON t_decision GET "${listed}" tried 0 decision)
if(NOT t_run EQUAL child OR NOT t_decision STREQUAL "")
  message(FATAL_ERROR "advise lists the fix tried:\n${listed}")
endif()
mantissa_ok(accept_out advise ${run} --accept ${child} --db "${db}")
if(NOT accept_out MATCHES "Fix run ${child} accepted: skipped ${child_skipped} of 60 steps")
  message(FATAL_ERROR "advise --accept:\n${accept_out}")
endif()
mantissa_ok(after advise ${run} --json --db "${db}")
string(JSON t_decision GET "${after}" tried 0 decision)
string(JSON why GET "${after}" findings 0 fixes 0 why)
if(NOT t_decision STREQUAL "accepted" OR NOT why MATCHES "Tried before here: accepted for run ${child}")
  message(FATAL_ERROR "after --accept (decision ${t_decision}, why: ${why}):\n${after}")
endif()

# With a control branch trained beside it: the control is the run unchanged
# from the same point, so it skips what the run skipped, bit for bit the same
# run on this machine.
mantissa_ok(ctl advise ${run} --try 1 --control --json --db "${db}")
string(JSON control_run GET "${ctl}" control_run)
string(JSON ctl_skipped GET "${ctl}" run_skipped)
string(JSON fix_skipped GET "${ctl}" skipped)
if(control_run STREQUAL "" OR NOT ctl_skipped EQUAL run_skipped OR NOT fix_skipped LESS ctl_skipped)
  message(FATAL_ERROR "advise --try 1 --control:\n${ctl}")
endif()
mantissa_ok(ctl_list runs list --json --db "${db}")
mantissa_ok(ctl_show runs show ${control_run} --json --db "${db}")
string(JSON ctl_parent GET "${ctl_show}" parent_run_id)
string(JSON ctl_name GET "${ctl_show}" name)
if(NOT ctl_parent EQUAL run OR NOT ctl_name MATCHES "control branch for")
  message(FATAL_ERROR "the control branch:\n${ctl_show}")
endif()

foreach(case "${run};--try;9;there is no finding 9"
             "${run};--try;1;--fix;4;there is no fix 4" "999;no run 999"
             "${run};--reject;${run};is no fix tried for run ${run}"
             "${run};--accept;${child};--reject;${child};excludes")
  list(POP_BACK case want)
  mantissa_refuses("${want}" advise ${case} --db "${db}")
endforeach()
