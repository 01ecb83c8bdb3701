// The broker asks who connects: `ordersd bus-users` makes a user per
// service whose permissions follow its role, a NatsBus connects as one
// with --bus-creds (or user:password@ in the URL) and may publish only its
// own events; wrong or missing credentials fail at once, clearly, and no
// password shows in any message, log line, /health or /metrics. And TLS to
// the broker, verified against a CA made here with the openssl CLI.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "bus/broker_users.h"
#include "bus/amqp_bus.h"
#include "bus/nats_bus.h"
#include "bus/roles.h"

#include "support/http_client.h"
#include "support/nats_server.h"
#include "support/rabbitmq_server.h"
#include "support/process.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using namespace ordersd;
using namespace ordersd::bus;
using namespace std::chrono_literals;
using ordersd::test::BrokerUsers;
using ordersd::test::HttpClient;
using ordersd::test::NatsServer;
using ordersd::test::NatsServerOptions;
using ordersd::test::ServerProcess;
using ordersd::test::TempDir;

namespace {

const std::string kBinary = ORDERSD_BINARY;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  REQUIRE(chmod(path.c_str(), mode) == 0);
  return path;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// "nats://USER:PASSWORD@127.0.0.1:PORT" for `nats`.
std::string url_as(const NatsServer& nats, const std::string& user, const std::string& password) {
  return "nats://" + user + ":" + password + "@127.0.0.1:" + std::to_string(nats.port());
}

Outgoing message(const std::string& kind, const std::string& id) { return {kind, id, "data-" + id}; }

// What a new consumer `name` of `kind` on `bus`, from `offset`, fetches at
// once: each message's data.
std::vector<std::string> fetched_data(Bus& bus, const std::string& name, std::string_view kind, uint64_t offset = 0) {
  auto consumer = bus.consumer(name, kind, offset);
  REQUIRE_MESSAGE(consumer, consumer.status().to_string());
  auto got = (*consumer)->fetch(10, 5s);
  REQUIRE_MESSAGE(got, got.status().to_string());
  std::vector<std::string> out;
  for (const auto& m : *got) out.emplace_back(m.data());
  return out;
}

// How long `connect` took to fail: a refusal must not wait out the retries
// meant for a broker that is still starting (10 s).
template <typename F>
std::chrono::milliseconds timed(F f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

}  // namespace

TEST_CASE("each service's broker user may publish the events of the kinds its role writes, and no others") {
  for (Role role : every_role()) {
    INFO(role_name(role));
    BrokerPermissions p = broker_permissions(role);
    std::set<std::string> events;
    for (const auto& subject : p.publish) {
      if (subject.rfind("ordersd.", 0) == 0) events.insert(subject);
      CHECK((subject.find('>') == std::string::npos || subject == "$JS.ACK.ORDERSD.>"));
    }
    std::set<std::string> expected;
    for (const auto& kind : Roles::of(role).written_kinds()) {
      expected.insert(subject_of_kind(kind));
      expected.insert(subject_of_kind(kind) + ".*");  // a shard's route
    }
    CHECK(events == expected);
    CHECK(p.subscribe == std::vector<std::string>{"_INBOX." + std::string(role_name(role)) + ".>"});
  }
  CHECK(broker_permissions(Role::kPayment).publish ==
        std::vector<std::string>{"ordersd.events.wallet", "ordersd.events.wallet.*", "$JS.API.STREAM.INFO.ORDERSD",
                                 "$JS.API.STREAM.CREATE.ORDERSD", "$JS.API.CONSUMER.INFO.ORDERSD.*",
                                 "$JS.API.CONSUMER.DURABLE.CREATE.ORDERSD.*", "$JS.API.CONSUMER.MSG.NEXT.ORDERSD.*",
                                 "$JS.ACK.ORDERSD.>"});
}

TEST_CASE("bus-users writes a 0600 creds file per service, nats.conf with bcrypt hashes, and keeps an existing one") {
  TempDir dir;
  const std::string users = dir.sub("users");  // created by the command
  auto made = test::run({kBinary, "bus-users", "--dir", users});
  REQUIRE(made.exit_code == 0);
  const std::string conf = read_file(users + "/nats.conf");
  CHECK(mode_of(users + "/nats.conf") == 0600);
  CHECK(mode_of(users) == 0700);
  std::set<std::string> passwords;
  for (Role role : every_role()) {
    const std::string name(role_name(role));
    INFO(name);
    const std::string creds = users + "/" + name + ".creds";
    CHECK(mode_of(creds) == 0600);
    std::string line = read_file(creds);
    REQUIRE(line.rfind(name + ":", 0) == 0);
    REQUIRE(line.back() == '\n');
    std::string password = line.substr(name.size() + 1, line.size() - name.size() - 2);
    CHECK(password.size() == 32);  // 24 random bytes, base64url
    CHECK(password.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    passwords.insert(password);
    CHECK_FALSE(contains(conf, password));  // nats.conf holds hashes only
    CHECK(contains(conf, "user: \"" + name + "\""));
  }
  CHECK(passwords.size() == 5);
  CHECK(contains(conf, "password: \"$2b$11$"));

  auto again = test::run({kBinary, "bus-users", "--dir", users});
  CHECK(again.exit_code == 1);
  CHECK(contains(again.err, "exists"));
  CHECK(read_file(users + "/nats.conf") == conf);
  auto forced = test::run({kBinary, "bus-users", "--dir", users, "--force"});
  CHECK(forced.exit_code == 0);
  CHECK(read_file(users + "/nats.conf") != conf);

  auto no_dir = test::run({kBinary, "bus-users"});
  CHECK(no_dir.exit_code != 0);
  CHECK(contains(no_dir.err, "--dir"));
}

TEST_CASE("connected as payment: wallet events go out, order events are refused, its consumers of saga work") {
  BrokerUsers users;
  NatsServer nats({users.config(), {}});
  auto payment = NatsBus::connect(nats.url(), {users.creds("payment"), ""});
  REQUIRE_MESSAGE(payment, payment.status().to_string());
  CHECK((*payment)->publish({message("wallet", "w-1")}, 5s));

  Status refused = (*payment)->publish({message("order", "o-1")}, 1s);
  CHECK_FALSE(refused);
  CHECK(contains(refused.message(), "Permissions Violation for Publish to \"ordersd.events.order\""));
  // A batch with one subject it may not publish to fails (the rest is stored, and dropped by id when it goes again).
  CHECK_FALSE((*payment)->publish({message("wallet", "w-2"), message("saga", "s-x")}, 1s));
  CHECK(contains(nats.log(), "Publish Violation - User \"payment\", Subject \"ordersd.events.order\""));

  // The order service publishes saga events; payment's durable consumer of them fetches and acknowledges.
  auto order = NatsBus::connect(nats.url(), {users.creds("order"), ""});
  REQUIRE_MESSAGE(order, order.status().to_string());
  REQUIRE((*order)->publish({message("saga", "s-1")}, 5s));
  auto consumer = (*payment)->consumer("payment-saga", "saga", 0);
  REQUIRE_MESSAGE(consumer, consumer.status().to_string());
  auto fetched = (*consumer)->fetch(10, 5s);
  REQUIRE_MESSAGE(fetched, fetched.status().to_string());
  REQUIRE(fetched->size() == 1);
  CHECK((*fetched)[0].data() == "data-s-1");
  CHECK((*fetched)[0].ack());

  // The query service writes nothing: every event subject is refused it.
  auto query = NatsBus::connect(nats.url(), {users.creds("query"), ""});
  REQUIRE_MESSAGE(query, query.status().to_string());
  Status query_refused = (*query)->publish({message("wallet", "w-q")}, 1s);
  CHECK(contains(query_refused.message(), "Permissions Violation for Publish to \"ordersd.events.wallet\""));
  // And it reads every kind: the wallet events payment published are there, and nothing refused.
  CHECK(fetched_data(**query, "query-wallet", "wallet") == std::vector<std::string>{"data-w-1", "data-w-2"});
  auto orders = (*query)->consumer("query-order", "order", 0);
  REQUIRE_MESSAGE(orders, orders.status().to_string());
  auto none = (*orders)->fetch(10, 200ms);
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("wrong or missing credentials fail the connect at once with a clear error, naming no password") {
  BrokerUsers users;
  NatsServer nats({users.config(), {}});
  TempDir dir;

  SUBCASE("a user:password@ in the URL works; a wrong one is refused and redacted") {
    auto right = NatsBus::connect(url_as(nats, "payment", users.password("payment")));
    REQUIRE_MESSAGE(right, right.status().to_string());
    CHECK((*right)->publish({message("wallet", "w-url")}, 5s));

    Result<std::unique_ptr<NatsBus>> wrong = Status::ok();
    auto took = timed([&] { wrong = NatsBus::connect(url_as(nats, "payment", "not-the-password-42")); });
    REQUIRE_FALSE(wrong);
    CHECK(took < 5s);
    const std::string e = wrong.status().to_string();
    CHECK(contains(e, "refused the connection as user 'payment'"));
    CHECK(contains(e, "Authorization Violation"));
    CHECK(contains(e, "nats://payment:***@127.0.0.1:"));
    CHECK_FALSE(contains(e, "not-the-password-42"));
  }

  SUBCASE("a wrong password in a creds file") {
    const std::string creds = write_file(dir.sub("wrong.creds"), "payment:not-the-password-42\n");
    Result<std::unique_ptr<NatsBus>> wrong = Status::ok();
    auto took = timed([&] { wrong = NatsBus::connect(nats.url(), {creds, ""}); });
    REQUIRE_FALSE(wrong);
    CHECK(took < 5s);
    const std::string e = wrong.status().to_string();
    CHECK(contains(e, "refused the connection as user 'payment' (from " + creds + ")"));
    CHECK(contains(e, "Authorization Violation"));
    CHECK_FALSE(contains(e, "not-the-password-42"));
  }

  SUBCASE("an unknown user") {
    const std::string creds = write_file(dir.sub("billing.creds"), "billing:" + users.password("payment") + "\n");
    auto wrong = NatsBus::connect(nats.url(), {creds, ""});
    REQUIRE_FALSE(wrong);
    CHECK(contains(wrong.status().message(), "Authorization Violation"));
    CHECK_FALSE(contains(wrong.status().message(), users.password("payment")));
  }

  SUBCASE("no credentials") {
    Result<std::unique_ptr<NatsBus>> none = Status::ok();
    auto took = timed([&] { none = NatsBus::connect(nats.url()); });
    REQUIRE_FALSE(none);
    CHECK(took < 5s);
    CHECK(contains(none.status().message(), "refused the connection without credentials"));
    CHECK(contains(none.status().message(), "Authorization Violation"));
  }

  SUBCASE("credentials in the URL and a creds file both: refused before connecting") {
    auto both = NatsBus::connect(url_as(nats, "payment", "secret-in-url"), {users.creds("payment"), ""});
    REQUIRE_FALSE(both);
    CHECK(both.status().code() == Status::Code::kInvalidArgument);
    CHECK(contains(both.status().message(), "give one"));
    CHECK_FALSE(contains(both.status().message(), "secret-in-url"));
  }
}

TEST_CASE("a creds file that is missing, empty or malformed is a clear error that quotes none of it") {
  TempDir dir;
  const std::string url = "nats://127.0.0.1:1";  // never reached: the file is read first
  auto refused = [&](const std::string& creds) {
    auto r = NatsBus::connect(url, {creds, ""});
    REQUIRE_FALSE(r);
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(contains(r.status().message(), creds));
    return r.status().message();
  };
  CHECK(contains(refused(dir.sub("missing.creds")), "No such file or directory"));
  CHECK(contains(refused(write_file(dir.sub("empty.creds"), "")), "is empty"));
  CHECK(contains(refused(write_file(dir.sub("newline.creds"), "\n")), "is empty"));
  for (const char* text : {"secretonly", ":secret", "payment:", "payment:secret\nquery:secret2\n", "pay ment:secret"}) {
    INFO(text);
    std::string e = refused(write_file(dir.sub("bad.creds"), text));
    CHECK(contains(e, "is malformed: it holds one line user:password"));
    CHECK_FALSE(contains(e, "secret"));
  }
  CHECK(contains(refused(dir.path()), "not a regular file"));
}

TEST_CASE("redact_url hides each password and token, and nothing else") {
  CHECK(redact_url("nats://payment:s3cret@127.0.0.1:4222") == "nats://payment:***@127.0.0.1:4222");
  CHECK(redact_url("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222");
  CHECK(redact_url("tls://tok3n@broker.example:4222") == "tls://***@broker.example:4222");
  CHECK(redact_url("nats://a:p@h1:1,nats://b:q@h2:2") == "nats://a:***@h1:1,nats://b:***@h2:2");
  CHECK(redact_url("payment:p@ss@host:4222") == "payment:***@host:4222");  // an @ in the password
  CHECK(redact_url("") == "");
}

TEST_CASE("serve shows a password in --bus in no log line, /health or /metrics; a refused one exits 1 at once") {
  BrokerUsers users;
  NatsServer nats({users.config(), {}});
  TempDir dir;
  const std::string password = users.password("payment");
  {
    ServerProcess server(dir.sub("payment"), {"--roles", "payment", "--bus", url_as(nats, "payment", password)});
    const std::string health = HttpClient(server.port).get("/health").body;
    const std::string metrics = HttpClient(server.port).get("/metrics").body;
    CHECK_FALSE(contains(health, password));
    CHECK_FALSE(contains(metrics, password));
    CHECK(server.stop() == 0);
    const std::string log = server.process.read_all_stderr();
    CHECK(contains(log, "bus=nats://payment:***@127.0.0.1:" + std::to_string(nats.port())));
    CHECK_FALSE(contains(log, password));
  }
  auto start = std::chrono::steady_clock::now();
  auto wrong = test::run({kBinary, "serve", "--data", dir.sub("wrong"), "--listen", "127.0.0.1:0", "--roles", "payment",
                          "--bus", url_as(nats, "payment", "not-the-password-42")});
  CHECK(std::chrono::steady_clock::now() - start < 8s);
  CHECK(wrong.exit_code == 1);
  CHECK(contains(wrong.err, "cannot connect to the bus"));
  CHECK(contains(wrong.err, "Authorization Violation"));
  CHECK(contains(wrong.err, "payment:***@"));
  CHECK_FALSE(contains(wrong.err, "not-the-password-42"));

  auto without_bus = test::run({kBinary, "serve", "--data", dir.sub("x"), "--bus-creds", users.creds("payment")});
  CHECK(without_bus.exit_code == 2);
  CHECK(contains(without_bus.err, "need --bus"));
}

TEST_CASE("serve with --bus-creds: a file others may read works, with a warning; a missing one exits 1") {
  BrokerUsers users;
  NatsServer nats({users.config(), {}});
  TempDir dir;
  const std::string open_creds = write_file(dir.sub("payment.creds"), read_file(users.creds("payment")), 0644);
  {
    ServerProcess server(dir.sub("payment"), {"--roles", "payment", "--bus", nats.url(), "--bus-creds", open_creds});
    CHECK(HttpClient(server.port).get("/health").status == 200);
    CHECK(server.stop() == 0);
    const std::string log = server.process.read_all_stderr();
    CHECK(contains(log, "may be read by others than its owner: chmod 600 it"));
    CHECK(contains(log, "mode=0644"));
    CHECK(contains(log, "bus_creds=" + open_creds));
    CHECK_FALSE(contains(log, users.password("payment")));
  }
  auto missing = test::run({kBinary, "serve", "--data", dir.sub("missing"), "--listen", "127.0.0.1:0", "--roles",
                            "payment", "--bus", nats.url(), "--bus-creds", dir.sub("nowhere.creds")});
  CHECK(missing.exit_code == 1);
  CHECK(contains(missing.err, "cannot read the broker credentials file " + dir.sub("nowhere.creds")));
}

// --- TLS

namespace {

// A throwaway CA, and server certificates it signs, made with the openssl CLI.
class Ca {
 public:
  explicit Ca(const std::string& name) : name_(name) {
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
             key(), "-out", cert(), "-days", "2", "-subj", "/CN=" + name});
  }
  std::string cert() const { return dir_.sub("ca.pem"); }

  // A certificate for `san` (e.g. "DNS:localhost"): {cert, key}.
  std::pair<std::string, std::string> server(const std::string& name, const std::string& san) const {
    const std::string k = dir_.sub(name + ".key"), csr = dir_.sub(name + ".csr"), c = dir_.sub(name + ".pem");
    const std::string ext = write_file(dir_.sub(name + ".ext"), "subjectAltName=" + san + "\n");
    openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", k, "-out", csr,
             "-subj", "/CN=" + name});
    openssl({"x509", "-req", "-in", csr, "-CA", cert(), "-CAkey", key(), "-set_serial", "2", "-days", "2", "-out", c,
             "-extfile", ext});
    return {c, k};
  }

 private:
  std::string key() const { return dir_.sub("ca.key"); }
  static void openssl(std::vector<std::string> args) {
    args.insert(args.begin(), OPENSSL_BINARY);
    auto done = test::run(args);
    REQUIRE_MESSAGE(done.exit_code == 0, "openssl failed: " << done.err);
  }
  std::string name_;
  TempDir dir_;
};

NatsServerOptions tls_server(const std::pair<std::string, std::string>& cert, const std::string& config = "") {
  return {config, {"--tls", "--tlscert", cert.first, "--tlskey", cert.second}};
}

std::string localhost_url(const NatsServer& nats) { return "nats://localhost:" + std::to_string(nats.port()); }

}  // namespace

TEST_CASE("TLS to the broker: verified against --bus-tls-ca; refused without it, with another CA or another host") {
  Ca ca("ordersd-test-ca");
  Ca other("another-ca");
  NatsServer nats(tls_server(ca.server("localhost", "DNS:localhost")));

  auto verified = NatsBus::connect(localhost_url(nats), {"", ca.cert()});
  REQUIRE_MESSAGE(verified, verified.status().to_string());
  CHECK((*verified)->publish({message("wallet", "w-tls")}, 5s));

  Result<std::unique_ptr<NatsBus>> refused = Status::ok();
  auto took = timed([&] { refused = NatsBus::connect(localhost_url(nats)); });
  REQUIRE_FALSE(refused);
  CHECK(took < 5s);
  CHECK(contains(refused.status().message(), "no TLS connection to the broker"));

  auto wrong_ca = NatsBus::connect(localhost_url(nats), {"", other.cert()});
  REQUIRE_FALSE(wrong_ca);
  CHECK(contains(wrong_ca.status().message(), "no TLS connection to the broker"));
  CHECK(contains(wrong_ca.status().message(), "verif"));

  auto no_file = NatsBus::connect(localhost_url(nats), {"", ca.cert() + ".missing"});
  REQUIRE_FALSE(no_file);
  CHECK(contains(no_file.status().message(), "cannot read the broker's CA file"));

  SUBCASE("a certificate for another host, from the same CA: refused, by name and by address") {
    NatsServer elsewhere(tls_server(ca.server("elsewhere", "DNS:elsewhere.invalid")));
    auto by_name = NatsBus::connect(localhost_url(elsewhere), {"", ca.cert()});
    REQUIRE_FALSE(by_name);
    CHECK(contains(by_name.status().message(), "no TLS connection to the broker"));
    CHECK(contains(by_name.status().message(), "mismatch"));
    auto by_address = NatsBus::connect(elsewhere.url(), {"", ca.cert()});
    REQUIRE_FALSE(by_address);
    CHECK(contains(by_address.status().message(), "mismatch"));
  }

  SUBCASE("a certificate for the broker's address, reached by address") {
    NatsServer by_ip(tls_server(ca.server("address", "IP:127.0.0.1")));
    auto connected = NatsBus::connect(by_ip.url(), {"", ca.cert()});
    REQUIRE_MESSAGE(connected, connected.status().to_string());
    CHECK((*connected)->publish({message("wallet", "w-ip")}, 5s));
  }

  SUBCASE("a broker without TLS, asked for it: refused at once") {
    NatsServer plain;
    auto wanted = NatsBus::connect(plain.url(), {"", ca.cert()});
    REQUIRE_FALSE(wanted);
    CHECK(contains(wanted.status().message(), "no TLS connection to the broker"));
  }

  SUBCASE("TLS and a broker user together") {
    BrokerUsers users;
    NatsServer both(tls_server(ca.server("localhost-2", "DNS:localhost"), users.config()));
    auto payment = NatsBus::connect(localhost_url(both), {users.creds("payment"), ca.cert()});
    REQUIRE_MESSAGE(payment, payment.status().to_string());
    CHECK((*payment)->publish({message("wallet", "w-both")}, 5s));
    CHECK_FALSE((*payment)->publish({message("order", "o-both")}, 1s));
    auto anonymous = NatsBus::connect(localhost_url(both), {"", ca.cert()});
    REQUIRE_FALSE(anonymous);
    CHECK(contains(anonymous.status().message(), "Authorization Violation"));
  }
}

TEST_CASE("RabbitMQ: each service's user publishes its own kinds only, reads the streams it reads, and a wrong password fails at once") {
  BrokerUsers users;
  test::RabbitMqServer rabbit(users.rabbitmq_definitions());
  const std::string url = "amqp://127.0.0.1:" + std::to_string(rabbit.port()) + "/";
  auto payment = connect_bus(url, {users.creds("payment"), ""});
  REQUIRE_MESSAGE(payment, payment.status().to_string());
  CHECK((*payment)->publish({message("wallet", "w-1")}, 5s));
  // Another kind's exchange: refused, and the broker's words say so.
  Status refused = (*payment)->publish({message("order", "o-1")}, 2s);
  CHECK_FALSE(refused);
  CHECK(contains(refused.message(), "ACCESS_REFUSED"));
  // After a refusal the connection is made again: its own kind still goes out.
  CHECK((*payment)->publish({message("wallet", "w-2")}, 5s));

  // The order service publishes saga events; payment consumes them from the start of the stream.
  auto order = connect_bus(url, {users.creds("order"), ""});
  REQUIRE_MESSAGE(order, order.status().to_string());
  REQUIRE((*order)->publish({message("saga", "s-1")}, 5s));
  auto consumer = (*payment)->consumer("payment-saga", "saga", 0);
  REQUIRE_MESSAGE(consumer, consumer.status().to_string());
  auto fetched = (*consumer)->fetch(10, 5s);
  REQUIRE_MESSAGE(fetched, fetched.status().to_string());
  REQUIRE(fetched->size() == 1);
  CHECK((*fetched)[0].data() == "data-s-1");
  CHECK((*fetched)[0].offset() == 0);
  CHECK((*fetched)[0].ack());
  // Payment does not read the order kind: consuming its stream is refused.
  auto own = (*payment)->consumer("payment-order", "order", 0);
  CHECK_FALSE(own);
  CHECK(contains(own.status().message(), "ACCESS_REFUSED"));

  // The query service publishes nothing and reads every kind.
  auto query = connect_bus(url, {users.creds("query"), ""});
  REQUIRE_MESSAGE(query, query.status().to_string());
  CHECK_FALSE((*query)->publish({message("wallet", "w-q")}, 2s));
  CHECK(fetched_data(**query, "query-wallet", "wallet") == std::vector<std::string>{"data-w-1", "data-w-2"});
  // From an offset: only what follows it.
  CHECK(fetched_data(**query, "query-wallet-2", "wallet", 1) == std::vector<std::string>{"data-w-2"});

  // A wrong password: refused at once, the password named nowhere.
  Result<std::unique_ptr<Bus>> wrong = Status::ok();
  auto took = timed([&] { wrong = connect_bus(rabbit.url_as("payment", "not-the-password-42")); });
  REQUIRE_FALSE(wrong);
  CHECK(contains(wrong.status().message(), "refused user payment"));
  CHECK_FALSE(contains(wrong.status().message(), "not-the-password-42"));
  CHECK(took < 4s);
  // A URL with a user and --bus-creds as well: which one is meant is not guessed.
  auto both = connect_bus(rabbit.url_as("payment", "secret-in-url"), {users.creds("payment"), ""});
  REQUIRE_FALSE(both);
  CHECK_FALSE(contains(both.status().message(), "secret-in-url"));
}

TEST_CASE("RabbitMQ over TLS: verified against --bus-tls-ca; refused without it, with another CA or another host") {
  Ca ca("rabbit-ca");
  auto [cert, key] = ca.server("rabbit", "DNS:localhost");
  test::RabbitMqServer rabbit(test::RabbitMqServerOptions{"", cert, key});
  const std::string url = "amqps://ordersd:ordersd-admin@localhost:" + std::to_string(rabbit.tls_port()) + "/";
  auto verified = connect_bus(url, {"", ca.cert()});
  REQUIRE_MESSAGE(verified, verified.status().to_string());
  CHECK((*verified)->publish({message("wallet", "w-tls")}, 5s));

  // amqps:// without a CA to verify the broker by: refused before connecting.
  auto no_ca = connect_bus(url);
  REQUIRE_FALSE(no_ca);
  CHECK(no_ca.status().code() == Status::Code::kInvalidArgument);
  CHECK(contains(no_ca.status().message(), "--bus-tls-ca"));
  CHECK_FALSE(contains(no_ca.status().message(), "ordersd-admin"));
  // Another CA: the handshake fails, at once.
  Ca other("other-ca");
  Result<std::unique_ptr<Bus>> wrong_ca = Status::ok();
  auto took = timed([&] { wrong_ca = connect_bus(url, {"", other.cert()}); });
  REQUIRE_FALSE(wrong_ca);
  CHECK(took < 4s);
  CHECK_FALSE(contains(wrong_ca.status().message(), "ordersd-admin"));
  // The right CA but another host than the certificate names.
  auto by_ip = connect_bus("amqps://ordersd:ordersd-admin@127.0.0.1:" + std::to_string(rabbit.tls_port()) + "/", {"", ca.cert()});
  CHECK_FALSE(by_ip);
  // The plain port asked for TLS: refused.
  auto plain = connect_bus("amqps://ordersd:ordersd-admin@localhost:" + std::to_string(rabbit.port()) + "/", {"", ca.cert()});
  CHECK_FALSE(plain);
}

TEST_CASE("RabbitMQ: a broker that stops answering without closing the socket is noticed by its consumers") {
  // As behind a network partition: no RST, no FIN, nothing. The consumer's
  // heartbeats make its fetch fail (the importer logs it, /health shows it)
  // instead of hearing nothing for ever.
  test::RabbitMqServer rabbit;
  auto bus = connect_bus(rabbit.url());
  REQUIRE_MESSAGE(bus, bus.status().to_string());
  REQUIRE((*bus)->publish({message("saga", "s-1")}, 5s));
  auto consumer = (*bus)->consumer("frozen-saga", "saga", 0);
  REQUIRE_MESSAGE(consumer, consumer.status().to_string());
  auto first = (*consumer)->fetch(10, 5s);
  REQUIRE(first);
  REQUIRE(first->size() == 1);
  rabbit.freeze();
  auto deadline = std::chrono::steady_clock::now() + 60s;
  Status failed = Status::ok();
  while (failed && std::chrono::steady_clock::now() < deadline) {
    auto got = (*consumer)->fetch(10, 500ms);
    if (!got) failed = got.status();
    else CHECK(got->empty());
  }
  rabbit.thaw();
  CHECK_FALSE(failed);
  MESSAGE("a frozen broker was noticed with: " << failed.to_string());
}
