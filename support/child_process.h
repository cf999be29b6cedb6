// Starting a child process whose output goes to a log file: chipd devnet's
// etcd members and nodes, and the test fixtures' etcd members.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace chip {

struct SpawnOptions {
  // setsid(): the child leads a session of its own (no controlling
  // terminal; a Ctrl-C in the terminal does not reach it).
  bool new_session = false;
  // setpgid(0, 0): the child leads a process group of its own, in this
  // session (a Ctrl-C reaches only the supervisor, which stops children in
  // order).
  bool new_process_group = false;
};

// Starts `args` (args[0] is the program path) with stdin from /dev/null and
// stdout and stderr appended to `log_path`; returns its pid, or -1 when the
// log cannot be opened or fork fails (errno says why). The child dies with
// the thread that called this (PR_SET_PDEATHSIG), so a killed supervisor or
// test leaves nothing running: call it from a thread that lives as long as
// the child should. The child's signal mask is cleared (a supervisor that
// blocks SIGINT/SIGTERM gives them back). Everything the child touches is
// prepared before fork: a child of a threaded process may only make
// async-signal-safe calls before exec. Exit code 127: exec failed.
pid_t SpawnWithLog(std::vector<std::string> args, const std::string& log_path,
                   const SpawnOptions& options);

}  // namespace chip
