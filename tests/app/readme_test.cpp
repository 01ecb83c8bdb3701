// The README's walkthrough, run as printed against a fresh server: every
// `$ ` line of its ```sh blocks is a command, the lines under it what it
// prints. The saga runs on its own, so a command whose answer is not yet
// the printed one is asked again (a reader pasting line by line is slower
// than the saga) until it is, for 10 s at most. The only liberties taken:
// the server's port for localhost:8080, its data directory for `data` and
// this build's binary for build/ordersd.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/process.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using ordersd::test::ServerProcess;
using ordersd::test::TempDir;
using namespace std::chrono_literals;

namespace {

struct Step {
  std::string command;
  std::string expected;  // what it prints, lines joined with '\n'
  int line = 0;          // in README.md
};

std::vector<Step> walkthrough() {
  std::ifstream in(std::string(ORDERSD_SOURCE_DIR) + "/README.md");
  REQUIRE(in);
  std::vector<Step> steps;
  std::string line;
  bool in_section = false, in_block = false;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.starts_with("## ")) in_section = line == "## Walkthrough";
    if (!in_section) continue;
    if (line.starts_with("```")) {
      in_block = !in_block && line == "```sh";
      continue;
    }
    if (!in_block) continue;
    if (line.starts_with("$ ")) {
      steps.push_back({line.substr(2), "", number});
    } else if (!steps.empty()) {
      steps.back().expected += (steps.back().expected.empty() ? "" : "\n") + line;
    }
  }
  return steps;
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

std::string without_final_newline(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace

TEST_CASE("the README's walkthrough works as printed on a fresh server") {
  auto steps = walkthrough();
  REQUIRE(steps.size() >= 10);
  TempDir dir;
  const std::string data = dir.sub("data");
  ServerProcess server(data);
  for (Step& step : steps) {
    std::string command = step.command;
    replace_all(command, "localhost:8080", "localhost:" + std::to_string(server.port));
    replace_all(command, "--data data", "--data " + data);
    replace_all(command, "build/ordersd", ORDERSD_BINARY);
    INFO("README.md:" << step.line << ": " << step.command);
    auto until = std::chrono::steady_clock::now() + 10s;
    ordersd::test::Completed done;
    for (;;) {
      done = ordersd::test::run({"/bin/bash", "-o", "pipefail", "-c", command});
      if (done.exit_code == 0 && without_final_newline(done.out) == step.expected) break;
      if (std::chrono::steady_clock::now() > until) break;
      std::this_thread::sleep_for(20ms);  // the saga moves on its own; ask again
    }
    INFO("printed:\n" << done.out << done.err);
    CHECK(done.exit_code == 0);
    CHECK(without_final_newline(done.out) == step.expected);
  }
}
