// crash_appender: appends to an event log until it is killed.
//
//   crash_appender <data-dir> <seed>
//
// Opens the EventLog in <data-dir> with the default options (fsync on every
// group commit), prints "open <head>" and then appends from kThreads threads
// forever: single-stream appends of 1..3 events (expected version any, or an
// exact version read just before, retried when another thread got there
// first) and multi-stream atomic appends to 2..3 streams. Event ids are
// derived from <seed>, the thread and a counter, so a run is reproducible in
// what it asks for (not in the interleaving) and two seeds never share ids.
//
// After each acknowledged append it writes one line to stdout:
//
//   <first_position> <last_position> (<stream> <version> <event-id>)...
//
// with one triple per event, in position order (the event at index i is at
// first_position + i). Each line goes out in a single write(2) of fewer than
// PIPE_BUF bytes, so lines from different threads never interleave, and a
// line is on the pipe only after its append was acknowledged. Errors go to
// stderr with exit status 2 (cannot open) or 3 (unexpected append failure).
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <limits.h>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "events/event_log.h"
#include "support/sample_events.h"

namespace {

using namespace ordersd;
using namespace ordersd::events;

constexpr int kThreads = 4;
constexpr int kStreams = 6;

std::string stream_name(int i) { return "crash-order-" + std::to_string(i); }

// Writes the whole line with one write(2); a pipe write of <= PIPE_BUF bytes
// is atomic, so a short write cannot happen and lines never interleave.
void emit(const std::string& line) {
  if (line.size() > PIPE_BUF) {
    std::fprintf(stderr, "crash_appender: line of %zu bytes is too long to be atomic\n", line.size());
    std::_Exit(3);
  }
  for (;;) {
    ssize_t n = ::write(STDOUT_FILENO, line.data(), line.size());
    if (n == static_cast<ssize_t>(line.size())) return;
    if (n < 0 && errno == EINTR) continue;
    std::_Exit(0);  // the reader is gone; nothing left to report to
  }
}

void append_forever(EventLog& log, unsigned long long seed, int thread) {
  std::mt19937_64 rng(seed * 1000003ull + static_cast<unsigned long long>(thread));
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  for (unsigned long long counter = 0;; ++counter) {
    // Which streams, how many events each, and how the versions are checked.
    std::vector<int> chosen{pick(kStreams)};
    int shape = pick(10);
    if (shape >= 7) {
      int n = 2 + pick(2);
      while (static_cast<int>(chosen.size()) < n) {
        int s = pick(kStreams);
        bool seen = false;
        for (int c : chosen) seen = seen || c == s;
        if (!seen) chosen.push_back(s);
      }
    }
    bool exact = shape >= 4 && shape < 7;

    AppendRequest request;
    int index = 0;
    for (int s : chosen) {
      StreamAppend part{stream_name(s), ExpectedVersion::any(), {}};
      int events = 1 + pick(chosen.size() > 1 ? 2 : 3);
      for (int i = 0; i < events; ++i) {
        std::string name = "crash/" + std::to_string(seed) + "/" + std::to_string(thread) + "/" +
                           std::to_string(counter) + "/" + std::to_string(index++);
        part.events.push_back(test::order_delivered(part.stream, uuid_from_name(name)));
      }
      request.streams.push_back(std::move(part));
    }

    for (;;) {
      if (exact) {
        for (auto& part : request.streams) {
          auto v = log.stream_version(part.stream);
          if (!v) {
            std::fprintf(stderr, "crash_appender: stream_version: %s\n", v.status().to_string().c_str());
            std::_Exit(3);
          }
          part.expected = ExpectedVersion::exact(*v);
        }
      }
      auto r = log.append(request);
      if (!r) {
        if (exact && r.status().code() == Status::Code::kWrongExpectedVersion) continue;  // lost a race
        std::fprintf(stderr, "crash_appender: append: %s\n", r.status().to_string().c_str());
        std::_Exit(3);
      }
      std::string line = std::to_string(r->first_position) + " " + std::to_string(r->last_position);
      for (size_t k = 0; k < request.streams.size(); ++k) {
        const StreamAppend& part = request.streams[k];
        uint64_t version = r->stream_versions[k] - part.events.size();
        for (const NewEvent& e : part.events) {
          line += " " + part.stream + " " + std::to_string(++version) + " " + e.id.to_string();
        }
      }
      line += "\n";
      emit(line);
      break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_appender <data-dir> <seed>\n");
    return 2;
  }
  // Die with the test: never outlive a test process that failed before killing us.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe shows up as a failed write

  const std::string dir = argv[1];
  const unsigned long long seed = std::strtoull(argv[2], nullptr, 10);
  auto opened = EventLog::open(dir);
  if (!opened) {
    std::fprintf(stderr, "crash_appender: %s\n", opened.status().to_string().c_str());
    return 2;
  }
  std::unique_ptr<EventLog> log = std::move(opened).value();
  emit("open " + std::to_string(log->head()) + "\n");

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back([&, t] { append_forever(*log, seed, t); });
  for (auto& th : threads) th.join();  // never: the threads run until the process is killed
  return 0;
}
