# CTest fixtures for a real local control plane (etcd + kube-apiserver v1.20.2
# [+ kube-controller-manager]) run by scripts/kube-local.sh.
#
#   rr_control_plane_fixture(<fixture> [CONTROLLER_MANAGER] [START_TIMEOUT <s>])
#     Adds the tests <fixture>.start (FIXTURES_SETUP) and <fixture>.stop
#     (FIXTURES_CLEANUP) for an instance in ${CMAKE_BINARY_DIR}/controlplane/<fixture>.
#     The start test replaces any leftover instance in that directory; the instance's
#     owner is ctest itself (the script's parent), so a killed ctest takes the control
#     plane down within ~1 s (watchdog). The stop test keeps <dir>/logs for post-mortems.
#     Both carry the label `fixture` only: ctest adds them for the tests that require them,
#     and a run whose labels exclude those tests (`-LE integration`) starts no idle instance.
#
#   rr_add_control_plane_test(NAME <name> FIXTURE <fixture> COMMAND <cmd> [<arg>...]
#                             [LABELS <label>...] [TIMEOUT <s>]
#                             [WORKING_DIRECTORY <dir>] [ENVIRONMENT <VAR=value>...])
#     add_test() requiring the fixture, with RR_KUBE_DIR, RR_KUBE_ENV_FILE (a sourceable
#     file: RR_KUBE_SERVER, RR_KUBE_CA, RR_KUBE_ADMIN_TOKEN, RR_KUBE_USER_TOKEN, ...) and
#     KUBECONFIG (admin, client certificate) in the environment. LABELS default: integration.
#
#   rr_control_plane_dir(<fixture> <out-var>)      the instance directory of a fixture
#   rr_control_plane_properties(<fixture> <out-var>)
#     a property list (FIXTURES_REQUIRED, ENVIRONMENT RR_KUBE_DIR) for gtest_discover_tests(... PROPERTIES ...)
include_guard(GLOBAL)

get_filename_component(_rr_cp_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(RR_KUBE_LOCAL "${_rr_cp_root}/scripts/kube-local.sh" CACHE FILEPATH "scripts/kube-local.sh")
set(RR_FETCH_KUBECTL "${_rr_cp_root}/scripts/fetch-kubectl.sh" CACHE FILEPATH "scripts/fetch-kubectl.sh")
# A cold start takes ~5 s of both cores; a start test claims this many ctest slots so
# several control planes do not boot at once and starve each other.
set(RR_CONTROL_PLANE_START_PROCESSORS 2 CACHE STRING "ctest PROCESSORS of a control plane start test")
set(RR_CONTROL_PLANE_READY_TIMEOUT 300 CACHE STRING "seconds a fixture's kube-apiserver may take to become ready")

function(rr_control_plane_dir fixture out)
  set(${out} "${CMAKE_BINARY_DIR}/controlplane/${fixture}" PARENT_SCOPE)
endfunction()

function(rr_control_plane_fixture fixture)
  cmake_parse_arguments(PARSE_ARGV 1 arg "CONTROLLER_MANAGER" "START_TIMEOUT" "")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "rr_control_plane_fixture: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  rr_control_plane_dir(${fixture} dir)
  set(extra)
  if(arg_CONTROLLER_MANAGER)
    list(APPEND extra --controller-manager)
  endif()
  if(NOT arg_START_TIMEOUT)
    # Seconds; generous because the first start may build kube-apiserver (minutes).
    set(arg_START_TIMEOUT 1200)
  endif()
  # The script itself is the test's process (no shell in between): its parent, the
  # default owner, is the long-lived ctest process.
  # --timeout bounds the wait for /readyz: on a busy CI machine a cold apiserver needed
  # more than a minute, so the bound is wide; a healthy start takes ~5 s.
  add_test(NAME ${fixture}.start
           COMMAND "${RR_KUBE_LOCAL}" start "${dir}" --replace --timeout ${RR_CONTROL_PLANE_READY_TIMEOUT} ${extra})
  set_tests_properties(${fixture}.start PROPERTIES
    FIXTURES_SETUP ${fixture}
    LABELS fixture
    TIMEOUT ${arg_START_TIMEOUT}
    PROCESSORS ${RR_CONTROL_PLANE_START_PROCESSORS})
  add_test(NAME ${fixture}.stop COMMAND "${RR_KUBE_LOCAL}" stop "${dir}" --keep-logs)
  set_tests_properties(${fixture}.stop PROPERTIES
    FIXTURES_CLEANUP ${fixture}
    LABELS fixture
    TIMEOUT 60)
endfunction()

function(rr_control_plane_properties fixture out)
  rr_control_plane_dir(${fixture} dir)
  set(${out}
    FIXTURES_REQUIRED ${fixture}
    # One variable only: gtest_discover_tests flattens a list-valued property. Tests
    # read the rest from ${RR_KUBE_DIR}/env.
    ENVIRONMENT "RR_KUBE_DIR=${dir}"
    PARENT_SCOPE)
endfunction()

function(rr_add_control_plane_test)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;FIXTURE;TIMEOUT;WORKING_DIRECTORY"
                        "COMMAND;LABELS;ENVIRONMENT")
  if(NOT arg_NAME OR NOT arg_FIXTURE OR NOT arg_COMMAND)
    message(FATAL_ERROR "rr_add_control_plane_test: NAME, FIXTURE and COMMAND are required")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "rr_add_control_plane_test: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_LABELS)
    set(arg_LABELS integration)
  endif()
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 300)
  endif()
  rr_control_plane_dir(${arg_FIXTURE} dir)
  if(arg_WORKING_DIRECTORY)
    add_test(NAME ${arg_NAME} COMMAND ${arg_COMMAND} WORKING_DIRECTORY "${arg_WORKING_DIRECTORY}")
  else()
    add_test(NAME ${arg_NAME} COMMAND ${arg_COMMAND})
  endif()
  set(env "RR_KUBE_DIR=${dir}" "RR_KUBE_ENV_FILE=${dir}/env" "KUBECONFIG=${dir}/kubeconfig" ${arg_ENVIRONMENT})
  set_tests_properties(${arg_NAME} PROPERTIES
    FIXTURES_REQUIRED ${arg_FIXTURE}
    LABELS "${arg_LABELS}"
    TIMEOUT ${arg_TIMEOUT}
    ENVIRONMENT "${env}")
endfunction()
