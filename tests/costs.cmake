# Start order of the longest tests. ctest runs tests in descending COST when
# it has no timing data of its own (a fresh clone has none), and otherwise in
# the order they were declared; the longest tests were declared last (the
# cluster and crash tests) and so ended the run alone on one core while the
# other core idled. The figures are seconds measured in a sanitized run
# (scripts/sanitize.sh; the two kill-cycles tests in a plain run, where only
# they run): only their order matters, so a figure that drifts does no harm,
# and a test renamed away from its pattern merely loses its head start.
# Read by ctest after the discovered tests (tests/CMakeLists.txt), like
# sanitize/labels.cmake.
set(chip_test_costs
  "cluster:kill -9 the producer under load" 62
  "cluster:cluster crash campaign" 41
  "integration:chip verify proves inclusion" 38
  "cluster:SIGSTOP the producer past its lease" 30
  "integration:a new user moves compute credits" 30
  "cluster:etcd member loss" 25
  "cluster:a bad block written into etcd" 24
  "integration:the equity fund levies" 23
  "integration:generic gRPC clients" 20
  "cluster:a restarted follower catches up" 18
  "ledger:every result code has a transaction" 16
  "integration:a full mempool answers" 15
  "integration:tls: chipd refuses to start" 14
  "integration:a flood of bad signatures" 14
  "cluster:three nodes: submissions" 12
  "cluster:chipd devnet: one command" 12
  "cluster:etcd over TLS" 11)
# The tests of add_test() have their COST in tests/CMakeLists.txt.
set(chip_all_tests ${ledger_tests_TESTS} ${integration_tests_TESTS} ${cluster_tests_TESTS})
list(LENGTH chip_test_costs chip_cost_count)
math(EXPR chip_cost_last "${chip_cost_count} - 1")
foreach(i RANGE 0 ${chip_cost_last} 2)
  math(EXPR j "${i} + 1")
  list(GET chip_test_costs ${i} prefix)
  list(GET chip_test_costs ${j} cost)
  foreach(name IN LISTS chip_all_tests)
    string(FIND "${name}" "${prefix}" at)
    if(at EQUAL 0)
      set_tests_properties("${name}" PROPERTIES COST ${cost})
    endif()
  endforeach()
endforeach()
