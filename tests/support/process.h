// A child process for integration tests: started with a pipe on stdout, read
// line by line with a deadline, and its stderr in a file of its own (so a
// child that logs a lot never blocks on an unread pipe); signalled and
// reaped. A child's stderr is scanned for sanitizer reports when it is
// reaped (support/child_reports.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace ordersd::test {

class Process {
 public:
  // Starts `argv[0]` with `argv`; throws std::runtime_error when it cannot.
  explicit Process(const std::vector<std::string>& argv);
  ~Process();  // SIGKILLs and reaps a child still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool reaped() const { return reaped_; }

  // The next whole line of stdout (without '\n'), or nullopt at EOF or when
  // `timeout` passes first.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Everything left on stdout until the child closes it.
  std::string read_all_stdout();
  // Everything the child wrote on stderr, once it has ended (waiting for
  // that, without reaping it).
  std::string read_all_stderr();
  // What the child has written on stderr so far; does not wait.
  std::string stderr_so_far() const;
  const std::string& stderr_path() const { return err_path_; }

  void signal(int sig);
  // Waits for the child to end; returns its exit code, or 128+signal.
  int wait();
  // The same, for at most `timeout`: nullopt while the child still runs.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);

 private:
  void on_reaped(int status);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  TempDir err_dir_;
  std::string err_path_;
  std::string out_buffer_;
  bool reaped_ = false;
  int exit_code_ = -1;
};

// Runs a command to completion: exit code, stdout and stderr.
struct Completed {
  int exit_code;
  std::string out;
  std::string err;
};
Completed run(const std::vector<std::string>& argv);

}  // namespace ordersd::test
