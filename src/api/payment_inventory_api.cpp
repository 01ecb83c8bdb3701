#include "api/payment_inventory_api.h"

#include <nlohmann/json.hpp>

#include "api/command_bodies.h"
#include "api/problems.h"

namespace ordersd::api {

using http::Request;
using http::Responder;
using http::Response;

namespace {

Response with_version(Response r, uint64_t version) {
  r.set_header("ETag", "\"" + std::to_string(version) + "\"");
  return r;
}

}  // namespace

void PaymentInventoryApi::add_routes(Access& access, http::Router& router) {
  access.add(router, "POST", "/customers/{id}/deposits", [this](Request r, http::Router::Params p, Responder respond) {
    deposit(std::move(r), std::move(p[0]), std::move(respond));
  });
  access.add(router, "GET", "/customers/{id}/wallet", [this](Request, http::Router::Params p, Responder respond) {
    get_wallet(std::move(p[0]), std::move(respond));
  });
  access.add(router, "POST", "/inventory/{sku}/restock", [this](Request r, http::Router::Params p, Responder respond) {
    restock(std::move(r), std::move(p[0]), std::move(respond));
  });
}

void PaymentInventoryApi::get_wallet(std::string customer_id, Responder respond) {
  if (!valid_id(customer_id)) {
    return respond(bad_id("a customer id"));
  }
  work_.post([this, customer_id = std::move(customer_id), respond = std::move(respond)] {
    auto wallet = wallets_.load(customer_id);
    if (!wallet) return respond(server_error(wallet.status()));
    if (wallet->version == 0) return respond(not_found("no wallet for customer " + customer_id));
    nlohmann::ordered_json j;
    j["customer_id"] = customer_id;
    j["balance_cents"] = wallet->balance_cents;
    j["deposited_cents"] = wallet->deposited_cents;
    j["charged_cents"] = wallet->charged_cents;  // charges not refunded
    j["version"] = wallet->version;
    respond(with_version(Response::json(200, j.dump()), wallet->version));
  });
}

void PaymentInventoryApi::deposit(Request request, std::string customer_id, Responder respond) {
  HttpCommand command;
  if (auto bad = read_command(request, respond, command)) return respond(*bad);
  if (!valid_id(customer_id)) {
    return command.respond(bad_id("a customer id"));
  }
  auto amount = parse_deposit(command.body);
  if (!amount) return command.respond(bad_request(amount.status().message()));
  CommandRunner::Spec<write::WalletDecider> spec{
      &wallets_, customer_id, write::Deposit{*amount},
      [customer_id](const write::WalletState& after, uint64_t position) {
        nlohmann::ordered_json j;
        j["customer_id"] = customer_id;
        j["balance_cents"] = after.balance_cents;
        j["version"] = after.version;
        j["position"] = position;
        return with_version(Response::json(200, j.dump()), after.version);
      },
      [](const write::WalletRefusal& refusal) { return conflict(refusal.message); }};
  runner_.run(std::move(command), std::move(spec));
}

void PaymentInventoryApi::restock(Request request, std::string sku, Responder respond) {
  HttpCommand command;
  if (auto bad = read_command(request, respond, command)) return respond(*bad);
  if (!valid_id(sku)) {
    return command.respond(bad_id("a sku"));
  }
  auto quantity = parse_restock(command.body);
  if (!quantity) return command.respond(bad_request(quantity.status().message()));
  CommandRunner::Spec<write::StockDecider> spec{
      &stock_, sku, write::Restock{*quantity},
      [sku](const write::StockState& after, uint64_t position) {
        nlohmann::ordered_json j;
        j["sku"] = sku;
        j["available"] = after.available;
        j["reserved"] = after.reserved;
        j["shipped"] = after.shipped;
        j["version"] = after.version;
        j["position"] = position;
        return with_version(Response::json(200, j.dump()), after.version);
      },
      [](const write::StockRefusal& refusal) { return conflict(refusal.message); }};
  runner_.run(std::move(command), std::move(spec));
}

}  // namespace ordersd::api
