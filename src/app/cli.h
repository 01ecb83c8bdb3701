// The ordersd command line: parses arguments and runs one sub-command.
#pragma once

namespace ordersd::app {

// Returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace ordersd::app
