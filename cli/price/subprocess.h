// What drawing a chart with gnuplot needs from the system: a program on
// PATH, a private scratch directory, and running a child process with a
// deadline.
#pragma once

#include <string>
#include <vector>

namespace chip::cli::price_internal {

// The first executable `name` on PATH, or "" when there is none.
std::string FindOnPath(const std::string& name);

// A private temporary directory for gnuplot's script and data, removed with
// everything in it when this goes out of scope.
class ScratchDir {
 public:
  // Creates $TMPDIR/chip-chart-XXXXXX (or under /tmp); ok() says whether it
  // could.
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  bool ok() const { return !path_.empty(); }
  // The path of a file in the directory; it is removed with the directory.
  std::string File(const std::string& name);

 private:
  std::string path_;
  std::vector<std::string> files_;
};

// Writes `text` to `path` (truncating it); false on any failure.
bool WriteText(const std::string& path, const std::string& text);

// Runs `program script` with output to `log_path`; the exit code, or -1 when
// it could not run or was killed at the deadline.
int RunProgram(const std::string& program, const std::string& script, const std::string& log_path,
               int timeout_ms);

}  // namespace chip::cli::price_internal
