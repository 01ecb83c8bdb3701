// The options every order benchmark takes, parsed with CLI11 as ordersd's
// own command line is: --orders, --connections, --durability, --quick,
// --json. A benchmark's Config derives from LoadOptions, sets its defaults,
// and adds its own options to the same CLI::App.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <string>

namespace ordersd::bench {

struct LoadOptions {
  int orders = 0;
  int connections = 0;
  std::string durability = "fsync";
  bool quick = false;  // a short run: fewer orders unless --orders is given
  bool json = false;
};

inline void add_load_options(CLI::App& app, LoadOptions& o) {
  app.add_option("--orders", o.orders, "orders to place")->capture_default_str()->check(CLI::Range(1, 10'000'000));
  app.add_option("--connections", o.connections, "keep-alive connections, one client thread each")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--durability", o.durability, "the server's --durability")
      ->capture_default_str()
      ->check(CLI::IsMember({"fsync", "async"}));
  app.add_flag("--quick", o.quick, "a short run");
  app.add_flag("--json", o.json, "print the figures as JSON");
}

// Parses the command line; on --help or a bad argument prints what CLI11
// prints and exits with its code.
inline void parse_or_exit(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
}

}  // namespace ordersd::bench
