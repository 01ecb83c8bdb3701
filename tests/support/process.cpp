#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/child_reports.h"

extern char** environ;

namespace ordersd::test {

namespace {
std::string drain(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  return out;
}
}  // namespace

Process::Process(const std::vector<std::string>& argv) : err_path_(err_dir_.sub("stderr")) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (err < 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error("cannot create " + err_path_);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err);
  out_fd_ = out[0];
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
}

Process::~Process() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    wait();
  }
  ::close(out_fd_);
}

std::optional<std::string> Process::read_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    size_t nl = out_buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = out_buffer_.substr(0, nl);
      out_buffer_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{out_fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char buf[4096];
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;  // EOF: a trailing partial line is not a line
    out_buffer_.append(buf, static_cast<size_t>(n));
  }
}

std::string Process::read_all_stdout() {
  std::string rest = std::move(out_buffer_);
  out_buffer_.clear();
  return rest + drain(out_fd_);
}

std::string Process::read_all_stderr() {
  // Until the child has ended; another thread may reap it meanwhile (ECHILD).
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
  return stderr_so_far();
}

std::string Process::stderr_so_far() const {
  std::ifstream in(err_path_, std::ios::binary);
  std::ostringstream all;
  all << in.rdbuf();
  return all.str();
}

void Process::signal(int sig) { ::kill(pid_, sig); }

int Process::wait() {
  if (reaped_) return exit_code_;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  on_reaped(status);
  return exit_code_;
}

std::optional<int> Process::wait_for(std::chrono::milliseconds timeout) {
  if (reaped_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r < 0 && errno == EINTR) continue;
    if (r == pid_) {
      on_reaped(status);
      return exit_code_;
    }
    if (r < 0 || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Process::on_reaped(int status) {
  reaped_ = true;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // Under the sanitizers a child reports on its stderr; any report fails the
  // test executable (support/child_reports.h).
  std::string err = stderr_so_far();
  if (has_sanitizer_report(err)) note_child_sanitizer_report(std::to_string(pid_), err);
}

Completed run(const std::vector<std::string>& argv) {
  Process p(argv);
  std::string out = p.read_all_stdout();
  int code = p.wait();
  return {code, std::move(out), p.stderr_so_far()};
}

}  // namespace ordersd::test
