// The data directory's format: a directory written before the current format
// (tests/data/format-1.tar.gz, written by `ordersd serve` of the format-1
// layout: two customers, a sku, four orders through the saga, one delivered,
// one declined, one placed with an Idempotency-Key) is refused with the
// command that upgrades it; `ordersd upgrade` rewrites it and the server then
// serves every order as it was and goes on appending to the old streams; a
// directory of a later format is refused by both.
#include <doctest/doctest.h>

#include <rocksdb/db.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "events/event_log.h"
#include "events/keys.h"
#include "support/eventually.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using nlohmann::json;
using ordersd::test::HttpClient;
using ordersd::test::ServerProcess;
using ordersd::test::TempDir;
namespace events = ordersd::events;
namespace keys = ordersd::events::keys;
namespace fs = std::filesystem;

namespace {

ordersd::test::Completed run_ordersd(const std::vector<std::string>& args) {
  std::vector<std::string> argv{ORDERSD_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return ordersd::test::run(argv);
}

// The format-1 directory, unpacked into `dir`.
void unpack_format1(const std::string& dir) {
  auto untar = ordersd::test::run({"/bin/tar", "-xzf", FORMAT1_FIXTURE, "-C", dir});
  REQUIRE_MESSAGE(untar.exit_code == 0, untar.err);
  REQUIRE(fs::exists(fs::path(dir) / "CURRENT"));
}

std::vector<std::string> column_families(const std::string& dir) {
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok());
  return names;
}

bool has_family(const std::string& dir, const std::string& name) {
  auto names = column_families(dir);
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Writes `value` as the directory's recorded format, as a later ordersd would.
void record_format(const std::string& dir, const std::string& value) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& name : column_families(dir)) families.push_back({name, rocksdb::ColumnFamilyOptions()});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions(), dir, families, &handles, &db).ok());
  CHECK(db->Put(rocksdb::WriteOptions(), handles[0], keys::kFormatKey, value).ok());
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  CHECK(db->Close().ok());
  delete db;
}

}  // namespace

TEST_CASE("a format-1 directory is refused, naming the upgrade; after `ordersd upgrade` it serves and appends") {
  TempDir dir;
  unpack_format1(dir.path());
  CHECK(has_family(dir.path(), keys::kFormat1HeadsFamily));

  auto refused = run_ordersd({"serve", "--data", dir.path(), "--listen", "127.0.0.1:0"});
  INFO(refused.out << refused.err);
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("format 1") != std::string::npos);
  CHECK(refused.err.find("ordersd upgrade --data " + dir.path()) != std::string::npos);
  auto read = run_ordersd({"events", "--data", dir.path()});
  CHECK(read.exit_code != 0);
  CHECK(read.err.find("ordersd upgrade") != std::string::npos);
  auto unchecked = run_ordersd({"check", "--data", dir.path()});
  CHECK(unchecked.exit_code == 1);
  CHECK(unchecked.out.find("NOT CHECKED") != std::string::npos);  // not damage
  CHECK(unchecked.out.find("ordersd upgrade") != std::string::npos);

  auto upgraded = run_ordersd({"upgrade", "--data", dir.path()});
  INFO(upgraded.out << upgraded.err);
  REQUIRE(upgraded.exit_code == 0);
  CHECK(upgraded.out.find("format 1") != std::string::npos);
  CHECK_FALSE(has_family(dir.path(), keys::kFormat1HeadsFamily));
  auto again = run_ordersd({"upgrade", "--data", dir.path()});
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("already") != std::string::npos);
  auto checked = run_ordersd({"check", "--data", dir.path()});
  INFO(checked.out << checked.err);
  CHECK(checked.exit_code == 0);

  ServerProcess server(dir.path());
  HttpClient client(server.port);
  // Every order as the format-1 server left it.
  auto delivered = json::parse(client.get("/orders/o-1001").body);
  CHECK(delivered["status"] == "delivered");
  auto declined = json::parse(client.get("/orders/o-1003").body);
  CHECK(declined["status"] == "cancelled");
  CHECK(declined["cancel_reason"] == "payment_declined");
  auto history = json::parse(client.get("/orders/o-1001/events").body);
  REQUIRE(history["events"].size() == 5);

  // Old streams go on at the version the "streams" family implies, with no
  // head of their own any more: a wrong one would refuse or fork them.
  auto wallet = json::parse(client.get("/customers/c-42/wallet").body);
  INFO(wallet.dump());
  uint64_t before = wallet["version"].get<uint64_t>();
  REQUIRE(before > 1);
  auto deposit = client.request("POST", "/customers/c-42/deposits", R"({"amount_cents": 100})",
                                {{"Content-Type", "application/json"}});
  INFO(deposit.body);
  REQUIRE(deposit.status == 200);
  CHECK(json::parse(deposit.body)["version"].get<uint64_t>() == before + 1);
  auto conflict = client.request("POST", "/orders/o-1001/deliver", "", {{"If-Match", "\"5\""}});
  CHECK(conflict.status == 409);  // delivered already, at version 5

  // A new order for the old customer and sku goes through the whole saga.
  auto placed = client.request(
      "POST", "/orders",
      R"({"order_id": "o-2001", "customer_id": "c-42", "items": [{"sku": "espresso-1kg", "quantity": 1, "unit_price_cents": 100}], "shipping_address": {"country": "NL", "city": "Leiden"}})",
      {{"Content-Type", "application/json"}});
  INFO(placed.body);
  REQUIRE(placed.status == 201);
  CHECK(ordersd::test::eventually([&] {
    auto order = client.get("/orders/o-2001");
    return order.status == 200 && json::parse(order.body)["status"] == "shipment_initiated";
  }));
  // The Idempotency-Key of the format-1 order is still recognised.
  auto retried = client.request(
      "POST", "/orders",
      R"({"order_id": "o-1004", "customer_id": "c-42", "items": [{"sku": "espresso-1kg", "quantity": 1, "unit_price_cents": 1899}], "shipping_address": {"country": "NL", "city": "Delft"}})",
      {{"Content-Type", "application/json"}, {"Idempotency-Key", "k-1004"}});
  INFO(retried.body);
  CHECK(retried.status == 201);
  CHECK(json::parse(retried.body)["position"].get<uint64_t>() == 25);
  server.stop();
}

TEST_CASE("upgrade refuses a directory a running server holds, and changes nothing") {
  TempDir dir;
  ServerProcess server(dir.path());
  auto held = run_ordersd({"upgrade", "--data", dir.path()});
  INFO(held.out << held.err);
  CHECK(held.exit_code == 1);
  CHECK(held.err.find("stop it first") != std::string::npos);
  server.stop();
}

TEST_CASE("a new directory records the current format; a later format is refused by open and by upgrade") {
  TempDir dir;
  {
    auto log = events::EventLog::open(dir.path());
    REQUIRE(log.is_ok());
  }
  CHECK_FALSE(has_family(dir.path(), keys::kFormat1HeadsFamily));
  auto current = run_ordersd({"upgrade", "--data", dir.path()});
  CHECK(current.exit_code == 0);
  CHECK(current.out.find("format " + std::to_string(keys::kCurrentFormat) + " already") != std::string::npos);

  record_format(dir.path(), std::to_string(keys::kCurrentFormat + 1));
  auto reopened = events::EventLog::open(dir.path());
  REQUIRE_FALSE(reopened.is_ok());
  CHECK(reopened.status().message().find("later ordersd") != std::string::npos);
  auto refused = run_ordersd({"upgrade", "--data", dir.path()});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("later ordersd") != std::string::npos);

  auto missing = run_ordersd({"upgrade", "--data", dir.path() + "/nothing-here"});
  CHECK(missing.exit_code == 2);
  CHECK_FALSE(fs::exists(dir.path() + "/nothing-here"));
}
