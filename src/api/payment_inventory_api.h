// PaymentInventoryApi: the HTTP routes of the payment and inventory services.
//
//   POST /customers/{id}/deposits   {"amount_cents": 1..10^12}   200 balance
//   POST /inventory/{sku}/restock   {"quantity": 1..10^9}        200 available
//   GET  /customers/{id}/wallet     balance, deposits, charges not refunded
//
// The commands honour If-Match (the wallet's or sku's version) and Idempotency-Key.
#pragma once

#include "api/command_runner.h"
#include "api/access.h"
#include "http/router.h"
#include "write/pipeline/wallet_stock_pipelines.h"

namespace ordersd::api {

class PaymentInventoryApi {
 public:
  PaymentInventoryApi(write::WalletPipeline& wallets, write::StockPipeline& stock, CommandRunner& runner, write::WorkQueue& work)
      : wallets_(wallets), stock_(stock), runner_(runner), work_(work) {}

  // The wallet routes (deposits, wallet) and the stock route (restock);
  // access adds those of the services the process runs.
  void add_routes(Access& access, http::Router& router);

 private:
  void deposit(http::Request request, std::string customer_id, http::Responder respond);
  void restock(http::Request request, std::string sku, http::Responder respond);
  void get_wallet(std::string customer_id, http::Responder respond);

  write::WalletPipeline& wallets_;
  write::StockPipeline& stock_;
  CommandRunner& runner_;
  write::WorkQueue& work_;
};

}  // namespace ordersd::api
