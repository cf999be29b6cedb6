# Labels for tests that catch_discover_tests finds only at build time, so that
# tests/CMakeLists.txt cannot name them. ctest includes this file after the
# discovered tests (tests/CMakeLists.txt appends it to TEST_INCLUDE_FILES after
# the last catch_discover_tests), where each binary's tests are listed in
# <target>_TESTS.
#
# kill-cycles: tests that SIGKILL and restart processes again and again under
# load. scripts/sanitize.sh leaves them out: each cycle starts processes
# anew, which ASan makes 2 to 2.5 times slower (together 128 s of the
# sanitizer run's 319 test-seconds), while the code they reach (start-up,
# recovery, failover, catch-up) runs under the sanitizers in other tests
# (restarts in node_cli_test.cc and the mempool test, the SIGSTOP, catch-up,
# etcd-loss and bad-block cluster tests). The plain run keeps them.
# reliability:crash-short has the label in tests/CMakeLists.txt.
foreach(name IN LISTS cluster_tests_TESTS)
  if(name MATCHES "^cluster:(cluster crash campaign|kill -9 the producer under load)")
    set_tests_properties("${name}" PROPERTIES LABELS kill-cycles)
  endif()
endforeach()

# Left out of the sanitizer run for now: these five cluster tests never ran
# under ctest before issue #13 (their names held a ';', which CMake splits
# into names that match nothing). They pass in the plain run; under ASan
# they are not yet verified. Label: asan-pending (scripts/sanitize.sh).
foreach(name IN LISTS cluster_tests_TESTS)
  if(name MATCHES "^cluster:(chipd devnet: one command|three nodes: submissions|a restarted follower catches up|etcd member loss: one of three|etcd over TLS with client)")
    set_tests_properties("${name}" PROPERTIES LABELS asan-pending)
  endif()
endforeach()
