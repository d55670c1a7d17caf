# CTest fixtures for a real multi-node Kubernetes v1.20.2 cluster on this machine
# (scripts/kube-cluster.sh: the local control plane plus N nodes, each a network
# namespace with its own containerd, kubelet, kube-proxy and CNI).
#
#   rr_cluster_fixture(<fixture> [NODES <n>] [START_TIMEOUT <s>] [START_ARGS <arg>...])
#     Adds the tests <fixture>.start (FIXTURES_SETUP) and <fixture>.stop (FIXTURES_CLEANUP)
#     for a cluster in ${CMAKE_BINARY_DIR}/cluster/<fixture>. The start test replaces any
#     leftover cluster there; its owner is ctest itself, so a killed ctest takes the cluster
#     down (watchdog). The stop test keeps the logs (DIR/logs, DIR/nodes/*/logs, DIR/cp/logs).
#     Both carry the label `cluster`; the start test claims RR_CLUSTER_START_PROCESSORS slots.
#
#   rr_add_cluster_test(NAME <name> FIXTURE <fixture> COMMAND <cmd> [<arg>...]
#                       [LABELS <label>...] [TIMEOUT <s>] [ENVIRONMENT <VAR=value>...])
#     add_test() requiring the fixture, with RR_CLUSTER_DIR, RR_CLUSTER_ENV_FILE (DIR/env,
#     sourceable: see scripts/kube-cluster.sh) and KUBECONFIG (admin) in the environment.
#     LABELS default: cluster.
#
#   rr_cluster_dir(<fixture> <out-var>)   the cluster directory of a fixture
include_guard(GLOBAL)

get_filename_component(_rr_cluster_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(RR_KUBE_CLUSTER "${_rr_cluster_root}/scripts/kube-cluster.sh" CACHE FILEPATH "scripts/kube-cluster.sh")
# A start takes about 30 s, its nodes' images hard-linked from the image seed (it took a minute
# on both cores while every node imported them): one slot, so tests run beside it.
set(RR_CLUSTER_START_PROCESSORS 1 CACHE STRING "ctest PROCESSORS of a cluster start test")

function(rr_cluster_dir fixture out)
  set(${out} "${CMAKE_BINARY_DIR}/cluster/${fixture}" PARENT_SCOPE)
endfunction()

function(rr_cluster_fixture fixture)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "NODES;START_TIMEOUT" "START_ARGS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "rr_cluster_fixture: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_NODES)
    set(arg_NODES 4)
  endif()
  if(NOT arg_START_TIMEOUT)
    # Generous: the first start on a machine builds kubelet, kube-proxy and kube-scheduler.
    set(arg_START_TIMEOUT 2400)
  endif()
  rr_cluster_dir(${fixture} dir)
  # The script is the test's process (no shell in between): its parent, the default
  # owner, is the long-lived ctest process.
  add_test(NAME ${fixture}.start
    COMMAND "${RR_KUBE_CLUSTER}" start "${dir}" --replace --nodes ${arg_NODES} ${arg_START_ARGS})
  set_tests_properties(${fixture}.start PROPERTIES
    FIXTURES_SETUP ${fixture}
    LABELS cluster
    TIMEOUT ${arg_START_TIMEOUT}
    PROCESSORS ${RR_CLUSTER_START_PROCESSORS})
  add_test(NAME ${fixture}.stop COMMAND "${RR_KUBE_CLUSTER}" stop "${dir}" --keep-logs)
  set_tests_properties(${fixture}.stop PROPERTIES
    FIXTURES_CLEANUP ${fixture}
    LABELS cluster
    TIMEOUT 180)
endfunction()

function(rr_add_cluster_test)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;FIXTURE;TIMEOUT" "COMMAND;LABELS;ENVIRONMENT")
  if(NOT arg_NAME OR NOT arg_FIXTURE OR NOT arg_COMMAND)
    message(FATAL_ERROR "rr_add_cluster_test: NAME, FIXTURE and COMMAND are required")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "rr_add_cluster_test: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_LABELS)
    set(arg_LABELS cluster)
  endif()
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 600)
  endif()
  rr_cluster_dir(${arg_FIXTURE} dir)
  add_test(NAME ${arg_NAME} COMMAND ${arg_COMMAND})
  set_tests_properties(${arg_NAME} PROPERTIES
    FIXTURES_REQUIRED ${arg_FIXTURE}
    LABELS "${arg_LABELS}"
    TIMEOUT ${arg_TIMEOUT}
    ENVIRONMENT "RR_CLUSTER_DIR=${dir};RR_CLUSTER_ENV_FILE=${dir}/env;KUBECONFIG=${dir}/kubeconfig;${arg_ENVIRONMENT}")
endfunction()
