// Raw bytes from a client, as the server reads them: Beast's request parser
// with the server's limits (src/http/server.cpp, ServerOptions' defaults),
// request after request while keep-alive, each parsed request handed to a
// Router with the server's route patterns whose routes parse their params,
// query strings and headers as the API does.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/http.h"
#include "http/params.h"
#include "http/router.h"
#include "http/server.h"

namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using namespace ordersd::http;

namespace {

// The routes' own parsing, on what the router matched.
void use_params(const Request& r, const Router::Params& params, const Responder& respond) {
  for (const auto& p : params) (void)valid_id(p);
  (void)parse_query(r.query(), {"min_position", "wait_ms"});
  (void)parse_query(r.query(), {"status", "customer_id", "limit", "after"});
  (void)parse_query(r.query(), {"from", "stream", "type", "heartbeat_ms", "limit", "max_ms"}, {"type"});
  (void)parse_decimal(r.header("Last-Event-ID"));
  auto numeric = parse_numeric_query(r.query(), {"from", "limit"});
  if (numeric) (void)numeric->size();
  (void)parse_numeric_query(r.query(), {"version"});
  if (auto match = r.find_header("If-Match")) (void)parse_etag(*match);
  (void)parse_decimal(r.header("Content-Length"));
  (void)r.header("Idempotency-Key");
  (void)r.path();
  respond(Response::json(200, "{}"));
}

const Router& router() {
  static const Router r = [] {
    Router router;
    const char* routes[][2] = {
        {"GET", "/health"}, {"GET", "/health/live"}, {"GET", "/health/ready"}, {"GET", "/metrics"},
        {"GET", "/admin/components"}, {"POST", "/admin/components/{name}/retry"},
        {"POST", "/admin/components/{name}/skip"}, {"POST", "/orders"}, {"POST", "/orders/{id}/cancel"},
        {"POST", "/orders/{id}/deliver"}, {"GET", "/orders/{id}/events"}, {"GET", "/orders/{id}/state"},
        {"GET", "/events"}, {"GET", "/events/stream"}, {"GET", "/orders/{id}/timeline"},
        {"POST", "/customers/{id}/deposits"}, {"GET", "/customers/{id}/wallet"},
        {"POST", "/inventory/{sku}/restock"}, {"GET", "/orders/{id}"}, {"GET", "/orders"},
        {"GET", "/customers/{id}"}, {"GET", "/inventory/{sku}"}, {"GET", "/admin/views"},
        {"POST", "/admin/views/{name}/rebuild"}, {"GET", "/stats"}, {"GET", "/sagas"}, {"GET", "/sagas/{id}"},
        {"POST", "/sagas/{id}/retry"}, {"GET", "/participants"}, {"POST", "/participants/{name}/pause"},
        {"POST", "/participants/{name}/resume"}};
    for (auto& [method, pattern] : routes) router.add(method, pattern, use_params);
    return router;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ServerOptions options;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // At most a few requests per input: pipelining is covered by two or three.
  for (int message = 0; message < 4 && !input.empty(); ++message) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(options.max_body_bytes);
    parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
    boost::beast::error_code ec;
    // As async_read feeds it: what has arrived so far, then more. The bytes
    // arrive 16 at a time, so that tokens split between reads are exercised.
    constexpr size_t kChunk = 16;
    size_t received = std::min(input.size(), kChunk);
    for (;;) {
      size_t used = parser.put(net::buffer(input.data(), received), ec);
      input.remove_prefix(used);
      received -= used;
      if (parser.is_done()) break;
      if (ec == bhttp::error::need_more || (!ec && used == 0)) {
        ec = {};
        if (received == input.size()) {  // nothing more will come: the client closed
          parser.put_eof(ec);
          break;
        }
        received = std::min(input.size(), received + kChunk);
        continue;
      }
      if (ec) break;
    }
    if (ec || !parser.is_done()) return 0;  // the server answers 4xx and closes

    auto& m = parser.get();
    Request request;
    request.method = std::string(m.method_string());
    request.target = std::string(m.target());
    for (const auto& field : m) request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    request.body = std::move(m.body());
    bool keep_alive = m.keep_alive();
    int answered = 0;
    std::string matched;
    router().dispatch(std::move(request), [&](Response) { ++answered; }, &matched);
    if (answered != 1) __builtin_trap();  // every request is answered exactly once
    if (!keep_alive) break;
  }
  return 0;
}
