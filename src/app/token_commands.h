// `ordersd token create|revoke|list`: manage the API tokens of a token file
// (auth/token_file.h). A running server reloads the file on SIGHUP.
#pragma once

#include <memory>

namespace CLI {
class App;
}

namespace ordersd::app {

class TokenCommands {
 public:
  // Adds the `token` sub-command and its own sub-commands to `app`; lives
  // as long as `app` is parsed and run.
  explicit TokenCommands(CLI::App& app);
  ~TokenCommands();
  bool parsed() const;
  // Runs the one that was parsed; returns the exit code.
  int run() const;

 private:
  struct Options;
  std::unique_ptr<Options> options_;
  CLI::App* token_ = nullptr;
  CLI::App* create_ = nullptr;
  CLI::App* revoke_ = nullptr;
  CLI::App* list_ = nullptr;
};

}  // namespace ordersd::app
