// A blocking HTTP/1.1 client for integration tests: one keep-alive
// connection to a loopback port.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ordersd::test {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class HttpClient {
 public:
  explicit HttpClient(uint16_t port);
  ~HttpClient();

  HttpResponse request(const std::string& method, const std::string& target, const std::string& body = "",
                       const std::vector<std::pair<std::string, std::string>>& headers = {});
  HttpResponse get(const std::string& target) { return request("GET", target); }

  // Sends raw bytes and reads one response (for malformed requests). With
  // `then_close_write`, shuts down the sending side first, like a client
  // that gave up in the middle of a request.
  HttpResponse raw(const std::string& bytes, bool then_close_write = false);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordersd::test
