#include "support/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>

namespace ordersd::test {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;

struct HttpClient::Impl {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  uint16_t port;

  // `head`: the answer to a HEAD, whose Content-Length announces no body.
  HttpResponse read_response(bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(boost::none);
    parser.skip(head);
    stream.expires_after(std::chrono::seconds(60));
    bhttp::read(stream, buffer, parser);
    auto& res = parser.get();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      out.headers[name] = std::string(field.value());
    }
    out.body = res.body();
    return out;
  }
};

HttpClient::HttpClient(uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
  impl_->stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                                 const std::vector<std::pair<std::string, std::string>>& headers) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.body() = body;
    if (req.find(bhttp::field::content_type) == req.end()) req.set(bhttp::field::content_type, "application/json");
  }
  req.prepare_payload();
  impl_->stream.expires_after(std::chrono::seconds(60));
  bhttp::write(impl_->stream, req);
  return impl_->read_response(method == "HEAD");
}

HttpResponse HttpClient::raw(const std::string& bytes, bool then_close_write) {
  net::write(impl_->stream.socket(), net::buffer(bytes));
  if (then_close_write) impl_->stream.socket().shutdown(net::ip::tcp::socket::shutdown_send);
  return impl_->read_response();
}

}  // namespace ordersd::test
