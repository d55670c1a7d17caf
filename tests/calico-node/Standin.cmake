# The calico-node stand-in program: what its image builds (tests/calico-node/Dockerfile, with
# -DRR_BUILD_TESTS=OFF -DRR_BUILD_CALICO_STANDIN=ON) and what the tests below it build on.
#
# rr_calico_confd: Calico objects -> the node's BGP sessions -> bird.cfg text (pure).
rr_component_library(rr_calico_confd ${CMAKE_CURRENT_LIST_DIR}/confd rr_kube)
# rr_calico_node: informers, BIRD 1.6 supervision and reloads.
rr_component_library(rr_calico_node ${CMAKE_CURRENT_LIST_DIR}/node rr_calico_confd rr_kube)

add_executable(calico-node-standin ${CMAKE_CURRENT_LIST_DIR}/cmd/main.cpp)
target_link_libraries(calico-node-standin PRIVATE rr_calico_node)
rr_strict_warnings(calico-node-standin)
