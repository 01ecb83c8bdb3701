#include "app/token_commands.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <string>

#include "auth/token_file.h"
#include "http/params.h"

namespace ordersd::app {

struct TokenCommands::Options {
  std::string file;
  std::string name;
  std::string scopes;
  std::string customer;
};

TokenCommands::TokenCommands(CLI::App& app) : options_(std::make_unique<Options>()) {
  Options& o = *options_;
  token_ = app.add_subcommand("token", "create, revoke and list the API tokens of a token file (serve --tokens)");
  token_->require_subcommand(1);
  create_ = token_->add_subcommand("create", "create a token and print it: it is shown this once, never again");
  create_->add_option("--file", o.file, "the token file (created, readable by its owner only)")->required();
  create_->add_option("--name", o.name, "a unique name, 1 to 64 of A-Z a-z 0-9 . _ - (names the caller in the audit)")
      ->required();
  create_->add_option("--scopes", o.scopes,
                      "comma-separated: orders:write orders:read wallets:write wallets:read inventory:write "
                      "inventory:read events:read metrics admin")
      ->required();
  create_->add_option("--customer", o.customer,
                      "bind the token to one customer: it sees and acts on that customer's orders and wallet only");
  revoke_ = token_->add_subcommand("revoke", "revoke a token by name (a running server forgets it on SIGHUP)");
  revoke_->add_option("--file", o.file, "the token file")->required();
  revoke_->add_option("--name", o.name, "the token's name")->required();
  list_ = token_->add_subcommand("list", "list the live tokens: name, scopes, customer, created (never the token)");
  list_->add_option("--file", o.file, "the token file")->required();
}

TokenCommands::~TokenCommands() = default;

bool TokenCommands::parsed() const { return token_->parsed(); }

int TokenCommands::run() const {
  const Options& o = *options_;
  if (create_->parsed()) {
    auto scopes = auth::ScopeSet::parse(o.scopes);
    if (!scopes) {
      std::cerr << "ordersd token create: --scopes: " << scopes.status().message() << "\n";
      return 2;
    }
    std::optional<std::string> customer;
    if (!o.customer.empty()) {
      if (!http::valid_id(o.customer)) {
        std::cerr << "ordersd token create: --customer is 1 to 64 characters of A-Z a-z 0-9 _ -\n";
        return 2;
      }
      customer = o.customer;
    }
    auto token = auth::create_token(o.file, o.name, *scopes, customer);
    if (!token) {
      std::cerr << "ordersd token create: " << token.status().message() << "\n";
      return token.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
    }
    std::cout << *token << "\n";
    std::cerr << "token '" << o.name << "' created with " << scopes->to_string()
              << (customer ? " for customer " + *customer : std::string()) << "; it is not shown again\n";
    return 0;
  }
  if (revoke_->parsed()) {
    Status s = auth::revoke_token(o.file, o.name);
    if (!s) {
      std::cerr << "ordersd token revoke: " << s.message() << "\n";
      return s.code() == Status::Code::kNotFound ? 2 : 1;
    }
    std::cerr << "token '" << o.name << "' revoked; send SIGHUP to a running server to forget it now\n";
    return 0;
  }
  auto set = auth::TokenSet::load(o.file);
  if (!set) {
    std::cerr << "ordersd token list: " << set.status().message() << "\n";
    return 1;
  }
  for (const auto& t : (*set)->tokens()) {
    std::cout << t.name << "\t" << t.scopes.to_string() << "\t" << (t.customer_id ? *t.customer_id : "-") << "\t"
              << t.created_at << "\n";
  }
  return 0;
}

}  // namespace ordersd::app
