// GET /events/stream against a real server, read by a small Server-Sent
// Events client over a plain socket: events arrive live and in order with
// their positions as ids; a resume after Last-Event-ID or from `from` gives
// exactly the rest; filters; heartbeats while idle; a client that stops
// reading is dropped with a last event, its queue never past the cap; a
// client that leaves is noticed at once; bad parameters are 400 before any
// stream; SIGTERM ends every stream with a last event and the server exits
// at once.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "events/event_log.h"
#include "support/eventually.h"
#include "support/order_body.h"
#include "support/http_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "write/domain/order_codec.h"

using nlohmann::json;
using ordersd::test::HttpClient;
using ordersd::test::SagaPausedServer;
using ordersd::test::ServerProcess;
using ordersd::test::TempDir;
using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

using ordersd::test::eventually;

using ordersd::test::order_body;
namespace {

// One block of an event stream: an event (id, event, data), a heartbeat
// (comments, perhaps with an id), or the stream's end (`ended`).
struct Block {
  std::optional<uint64_t> id;
  std::string event;
  std::string data;
  std::vector<std::string> comments;
  bool ended = false;  // the body's last chunk came, or the connection closed
  bool closed = false; // the connection closed (without the last chunk when !clean_end)
};

// A Server-Sent Events client: sends the request, reads the head, then
// decodes the chunked body block by block, only when asked to (so that a
// test can stop reading, like a slow client).
class SseClient {
 public:
  SseClient(uint16_t port, const std::string& target, const Headers& headers = {}, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    if (receive_buffer > 0) {
      // Before connect, so that the window the server sees is small from the start.
      REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer) == 0);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
    for (const auto& [k, v] : headers) request += k + ": " + v + "\r\n";
    request += "\r\n";
    REQUIRE(::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
    // The head.
    auto deadline = std::chrono::steady_clock::now() + 10s;
    size_t end;
    while ((end = raw_.find("\r\n\r\n")) == std::string::npos) {
      REQUIRE_MESSAGE(fill(deadline), "no response head: " << raw_);
    }
    head = raw_.substr(0, end + 2);
    raw_.erase(0, end + 4);
    status = std::atoi(head.c_str() + head.find(' ') + 1);
    chunked_ = lower(head).find("transfer-encoding: chunked") != std::string::npos;
    if (!chunked_) {
      // A problem answer: its body is Content-Length long.
      size_t at = lower(head).find("content-length:");
      size_t length = at == std::string::npos ? 0 : std::strtoull(head.c_str() + at + 15, nullptr, 10);
      while (raw_.size() < length && fill(deadline)) {
      }
      body = raw_.substr(0, length);
    }
  }
  ~SseClient() { close(); }
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  void send(const std::string& bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // The next block, or nullopt when none came within `timeout`.
  std::optional<Block> next(std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      decode();
      if (size_t end = text_.find("\n\n"); end != std::string::npos) {
        std::string block = text_.substr(0, end);
        text_.erase(0, end + 2);
        return parse(block);
      }
      if (ended_) {
        Block b;
        b.ended = true;
        b.closed = closed_;
        return b;
      }
      if (!fill(deadline)) {
        if (closed_) {
          ended_ = true;
          continue;
        }
        return std::nullopt;
      }
    }
  }

  // Blocks until the next event (skipping heartbeats); nullopt at the end or on timeout.
  std::optional<Block> next_event(std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      auto b = next(std::max(left, 0ms));
      if (!b || b->ended) return b;
      if (!b->event.empty()) return b;
    }
  }

  int status = 0;
  std::string head;
  std::string body;  // of a response that is not a stream
  bool clean_end() const { return last_chunk_; }

 private:
  static std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  // Reads what is there by `deadline`; false on timeout or close.
  bool fill(std::chrono::steady_clock::time_point deadline) {
    if (closed_ || fd_ < 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    raw_.append(buf, static_cast<size_t>(n));
    return true;
  }

  // Moves whole chunks from raw_ into text_.
  void decode() {
    if (!chunked_) {
      text_ += raw_;
      raw_.clear();
      return;
    }
    while (!last_chunk_) {
      size_t line = raw_.find("\r\n");
      if (line == std::string::npos) return;
      size_t size = std::strtoull(raw_.substr(0, line).c_str(), nullptr, 16);
      if (size == 0) {
        if (raw_.size() < line + 4) return;
        last_chunk_ = true;
        ended_ = true;
        raw_.erase(0, line + 4);
        return;
      }
      if (raw_.size() < line + 2 + size + 2) return;
      text_ += raw_.substr(line + 2, size);
      REQUIRE(raw_.substr(line + 2 + size, 2) == "\r\n");
      raw_.erase(0, line + 2 + size + 2);
    }
  }

  static Block parse(const std::string& block) {
    Block b;
    size_t start = 0;
    while (start <= block.size()) {
      size_t end = block.find('\n', start);
      if (end == std::string::npos) end = block.size();
      std::string line = block.substr(start, end - start);
      start = end + 1;
      if (line.starts_with(":")) b.comments.push_back(line.substr(line.size() > 1 && line[1] == ' ' ? 2 : 1));
      else if (line.starts_with("id: ")) b.id = std::stoull(line.substr(4));
      else if (line.starts_with("event: ")) b.event = line.substr(7);
      else if (line.starts_with("data: ")) b.data = line.substr(6);
      else if (!line.empty()) FAIL("an unexpected line in an event stream: " << line);
    }
    return b;
  }

  int fd_ = -1;
  std::string raw_;   // received, not yet decoded
  std::string text_;  // the body, decoded, not yet parsed
  bool chunked_ = false;
  bool last_chunk_ = false;
  bool ended_ = false;
  bool closed_ = false;
};

// The id of the next event (heartbeats skipped); fails the test when none comes.
uint64_t next_id(SseClient& feed) {
  auto e = feed.next_event();
  REQUIRE(e);
  REQUIRE_FALSE(e->ended);
  REQUIRE(e->id);
  return *e->id;
}

uint64_t deposit(HttpClient& http, const std::string& customer, int cents = 100) {
  auto r = http.request("POST", "/customers/" + customer + "/deposits", json{{"amount_cents", cents}}.dump());
  REQUIRE(r.status == 200);
  return json::parse(r.body)["position"];
}

uint64_t metric(HttpClient& http, const std::string& name) {
  std::string text = http.get("/metrics").body;
  size_t at = text.find("\n" + name + " ");
  REQUIRE_MESSAGE(at != std::string::npos, name << " is not in /metrics");
  return std::stoull(text.substr(at + name.size() + 2));
}


}  // namespace

TEST_CASE("events arrive live and in order, ids are positions; Last-Event-ID resumes with exactly the rest") {
  TempDir dir;
  SagaPausedServer server(dir.sub("data"));
  HttpClient http(server.port);
  for (int i = 1; i <= 3; ++i) deposit(http, "c-" + std::to_string(i));

  SseClient feed(server.port, "/events/stream");
  REQUIRE(feed.status == 200);
  CHECK(feed.head.find("Content-Type: text/event-stream") != std::string::npos);
  // What is in the log already, each event as GET /events gives it.
  auto listed = nlohmann::ordered_json::parse(http.get("/events?from=1&limit=10").body)["events"];
  REQUIRE(listed.size() == 3);
  for (uint64_t p = 1; p <= 3; ++p) {
    auto e = feed.next_event();
    REQUIRE(e);
    CHECK(e->id == p);
    CHECK(e->event == "payment.funds_deposited.v1");
    CHECK(e->data == listed[p - 1].dump());  // the same bytes, one line
  }
  // Live: each deposit shows up as it commits.
  for (uint64_t p = 4; p <= 8; ++p) {
    REQUIRE(deposit(http, "c-live") == p);
    auto e = feed.next_event();
    REQUIRE(e);
    CHECK(e->id == p);
    CHECK(json::parse(e->data)["position"] == p);
  }
  // The client goes after seeing 5 (it had read up to 8; say it only processed 5).
  feed.close();
  CHECK(eventually([&] { return metric(http, "ordersd_event_streams_open") == 0; }, 3s));  // noticed at once, no heartbeat needed
  deposit(http, "c-later");  // 9, while nobody listens

  SseClient resumed(server.port, "/events/stream", {{"Last-Event-ID", "5"}});
  std::vector<uint64_t> ids;
  for (int i = 0; i < 4; ++i) {
    auto e = resumed.next_event();
    REQUIRE(e);
    ids.push_back(*e->id);
  }
  CHECK(ids == std::vector<uint64_t>{6, 7, 8, 9});  // no gap, no repeat
  REQUIRE(deposit(http, "c-after") == 10);
  auto live = resumed.next_event();
  REQUIRE(live);
  CHECK(live->id == 10);

  // `from` is the first position to send; Last-Event-ID wins over it (an
  // EventSource reconnects to the same URL and adds the header).
  SseClient from(server.port, "/events/stream?from=9&limit=2");
  CHECK(next_id(from) == 9);
  CHECK(next_id(from) == 10);
  auto end = from.next_event();
  REQUIRE(end);
  CHECK(end->event == "end");
  auto data = json::parse(end->data);
  CHECK(data["reason"] == "limit");
  CHECK(data["last_event_id"] == 10);
  CHECK(data["from"] == 11);
  auto after = from.next();
  REQUIRE(after);
  CHECK(after->ended);
  CHECK(from.clean_end());  // the body's last chunk, not just a closed connection

  SseClient both(server.port, "/events/stream?from=2&limit=1", {{"Last-Event-ID", "7"}});
  CHECK(next_id(both) == 8);
  // A position past the head is waited for.
  SseClient ahead(server.port, "/events/stream?from=12&limit=1");
  CHECK_FALSE(ahead.next_event(300ms));
  deposit(http, "c-11");
  deposit(http, "c-12");
  CHECK(next_id(ahead) == 12);
}

TEST_CASE("filters: a stream name prefix, types repeated or comma-separated; a heartbeat carries the id filtered past") {
  TempDir dir;
  SagaPausedServer server(dir.sub("data"));
  HttpClient http(server.port);
  SseClient orders(server.port, "/events/stream?stream=order-");
  SseClient types(server.port, "/events/stream?type=inventory.restocked.v1&type=order.placed.v1");
  SseClient commas(server.port, "/events/stream?type=payment.funds_deposited.v1,inventory.restocked.v1");
  SseClient quiet(server.port, "/events/stream?stream=nothing-&heartbeat_ms=200");
  REQUIRE(orders.status == 200);

  deposit(http, "ann");                                                                       // 1
  REQUIRE(http.request("POST", "/inventory/mug/restock", R"({"quantity":5})").status == 200);  // 2
  REQUIRE(http.request("POST", "/orders", order_body("o-1", "ann").dump()).status == 201);          // 3
  deposit(http, "bob");                                                                       // 4

  auto o = orders.next_event();
  REQUIRE(o);
  CHECK(o->id == 3);
  CHECK(o->event == "order.placed.v1");
  CHECK_FALSE(orders.next_event(300ms));

  std::vector<std::pair<uint64_t, std::string>> got;
  for (int i = 0; i < 2; ++i) {
    auto e = types.next_event();
    REQUIRE(e);
    got.emplace_back(*e->id, e->event);
  }
  CHECK(got == std::vector<std::pair<uint64_t, std::string>>{{2, "inventory.restocked.v1"}, {3, "order.placed.v1"}});
  got.clear();
  for (int i = 0; i < 3; ++i) {
    auto e = commas.next_event();
    REQUIRE(e);
    got.emplace_back(*e->id, e->event);
  }
  CHECK(got == std::vector<std::pair<uint64_t, std::string>>{
                   {1, "payment.funds_deposited.v1"}, {2, "inventory.restocked.v1"}, {4, "payment.funds_deposited.v1"}});

  // Nothing matches, but the heartbeat says how far the feed has looked, so
  // that a resume (Last-Event-ID: 4) does not look at 1..4 again.
  bool saw = false;
  for (int i = 0; i < 10 && !saw; ++i) {
    auto b = quiet.next(2s);
    REQUIRE(b);
    REQUIRE(b->event.empty());
    REQUIRE(b->comments == std::vector<std::string>{"heartbeat"});
    saw = b->id == 4;
  }
  CHECK(saw);
}

TEST_CASE("heartbeats arrive while the feed is idle, as comments") {
  TempDir dir;
  SagaPausedServer server(dir.sub("data"));
  SseClient feed(server.port, "/events/stream?heartbeat_ms=150");
  REQUIRE(feed.status == 200);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    auto b = feed.next(3s);
    REQUIRE(b);
    CHECK(b->comments == std::vector<std::string>{"heartbeat"});
    CHECK_FALSE(b->id);
    CHECK(b->event.empty());
  }
  CHECK(std::chrono::steady_clock::now() - start >= 400ms);  // one every 150 ms, not a burst
}

TEST_CASE("a client that stops reading is dropped with a last event; its queue never passes the cap") {
  TempDir dir;
  std::string data = dir.sub("data");
  // About 9 MB of events already in the log, each about 11 KB: more than the
  // socket buffers can grow to (4 MiB here) and the 64 KiB queue hold.
  constexpr int kEvents = 800;
  {
    auto log = ordersd::events::EventLog::open(data).value();
    ordersd::RandomUuidGenerator ids;
    std::vector<ordersd::write::OrderLine> lines;
    for (int i = 0; i < 100; ++i) lines.push_back({"sku-" + std::string(60, 'a' + i % 26), 1, 100});
    for (int i = 0; i < kEvents; ++i) {
      std::string id = "big-" + std::to_string(i);
      ordersd::write::OrderPlaced placed{id, "c-1", lines, {"NL", "Utrecht", "x", "y"}, 10'000};
      REQUIRE(log->append(ordersd::write::order_stream(id), ordersd::events::ExpectedVersion::no_stream(),
                          {ordersd::write::to_new_event(id, ordersd::write::OrderEvent(placed), ids.next())}));
    }
  }
  SagaPausedServer server(data, {"--event-stream-queue-bytes", "65536", "--event-stream-stall-ms", "300"});
  HttpClient http(server.port);
  CHECK(metric(http, "ordersd_event_stream_queue_limit_bytes") == 65536);

  SseClient slow(server.port, "/events/stream?from=1", {}, 4096);
  REQUIRE(slow.status == 200);
  // It reads nothing more: the feed fills the socket and its queue, waits
  // 300 ms for room, and gives up on it.
  REQUIRE(eventually([&] { return metric(http, "ordersd_event_stream_dropped_total") == 1; }));
  CHECK(metric(http, "ordersd_event_stream_queue_peak_bytes") <= 65536);
  CHECK(metric(http, "ordersd_event_stream_queue_peak_bytes") > 0);

  // Now it reads: every event up to the drop, in order, then why it ended.
  uint64_t expected = 1;
  std::optional<Block> last;
  for (;;) {
    auto b = slow.next(10s);
    REQUIRE(b);
    REQUIRE_FALSE(b->ended);
    if (b->event == "dropped") {
      last = b;
      break;
    }
    REQUIRE(b->id == expected);
    ++expected;
  }
  CHECK(expected > 1);
  CHECK(expected <= kEvents);  // it was dropped well before the end
  auto why = json::parse(last->data);
  CHECK(why["last_event_id"] == expected - 1);
  CHECK(why["from"] == expected);
  CHECK(why["reason"].get<std::string>().find("no room for the next event") != std::string::npos);
  auto end = slow.next(10s);
  REQUIRE(end);
  CHECK(end->ended);
  CHECK(slow.clean_end());
  CHECK(metric(http, "ordersd_event_streams_open") == 0);

  // Resuming where it says gives the next event.
  SseClient again(server.port, "/events/stream?limit=1", {{"Last-Event-ID", std::to_string(expected - 1)}});
  auto next = again.next_event();
  REQUIRE(next);
  CHECK(next->id == expected);
}

TEST_CASE("a client that goes away is noticed at once, also one that sent bytes after its request") {
  TempDir dir;
  SagaPausedServer server(dir.sub("data"));
  HttpClient http(server.port);
  auto quiet = std::make_unique<SseClient>(server.port, "/events/stream");
  auto chatty = std::make_unique<SseClient>(server.port, "/events/stream");
  REQUIRE(eventually([&] { return metric(http, "ordersd_event_streams_open") == 2; }));
  chatty->send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");  // never answered: the stream comes first
  std::this_thread::sleep_for(100ms);
  CHECK(metric(http, "ordersd_event_streams_open") == 2);
  quiet.reset();
  chatty.reset();
  // The default heartbeat is 15 s: no write is needed to notice.
  CHECK(eventually([&] { return metric(http, "ordersd_event_streams_open") == 0; }, 3s));
}

TEST_CASE("bad parameters are 400 problem+json before any stream; over the stream cap, 503") {
  TempDir dir;
  SagaPausedServer server(dir.sub("data"), {"--event-stream-max", "1"});
  for (auto [target, headers] : std::vector<std::pair<std::string, Headers>>{
           {"/events/stream?from=abc", {}},
           {"/events/stream?from=-1", {}},
           {"/events/stream?limit=0", {}},
           {"/events/stream?heartbeat_ms=5", {}},
           {"/events/stream?max_ms=0", {}},
           {"/events/stream?type=order.placed", {}},
           {"/events/stream?type=order.placed.v1,,order.cancelled.v1", {}},
           {"/events/stream?stream=", {}},
           {"/events/stream?stream=" + std::string(256, 'o'), {}},
           {"/events/stream?from=1&from=2", {}},
           {"/events/stream?position=1", {}},
           {"/events/stream", {{"Last-Event-ID", "x"}}},
           {"/events/stream", {{"Last-Event-ID", "18446744073709551615"}}},
       }) {
    INFO(target);
    SseClient r(server.port, target, headers);
    CHECK(r.status == 400);
    CHECK(r.head.find("application/problem+json") != std::string::npos);
    CHECK(json::parse(r.body)["status"] == 400);
  }
  SseClient one(server.port, "/events/stream");
  REQUIRE(one.status == 200);
  SseClient two(server.port, "/events/stream");
  CHECK(two.status == 503);
  CHECK(two.head.find("Retry-After") != std::string::npos);
}

TEST_CASE("SIGTERM ends every stream with a last event saying where to resume; the server exits at once") {
  TempDir dir;
  SagaPausedServer server(dir.sub("data"));
  HttpClient http(server.port);
  deposit(http, "ann");
  SseClient a(server.port, "/events/stream");
  SseClient b(server.port, "/events/stream?stream=order-");
  REQUIRE(next_id(a) == 1);
  REQUIRE(eventually([&] { return metric(http, "ordersd_event_streams_open") == 2; }));

  auto start = std::chrono::steady_clock::now();
  server.process.signal(SIGTERM);
  for (SseClient* feed : {&a, &b}) {
    auto end = feed->next_event(5s);
    REQUIRE(end);
    CHECK(end->event == "end");
    auto data = json::parse(end->data);
    CHECK(data["reason"] == "shutdown");
    // a has sent 1; b may not have looked at it yet (its filter takes nothing).
    if (feed == &a) CHECK(data["last_event_id"] == 1);
    CHECK(data["last_event_id"] <= 1);
    CHECK(data["from"] == data["last_event_id"].get<uint64_t>() + 1);
    auto after = feed->next(5s);
    REQUIRE(after);
    CHECK(after->ended);
  }
  CHECK(server.process.wait() == 0);
  CHECK(std::chrono::steady_clock::now() - start < 5s);  // well within the 10 s grace
}
