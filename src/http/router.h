// Router: dispatches a request by method and path pattern to a route.
//
// Patterns are literal segments and "{name}" segments that match any one
// non-empty segment ("/orders/{id}/cancel"); matched segments are passed to
// the route percent-decoded, in order. A path that matches no pattern gets
// 404; a path that matches with another method gets 405 with Allow. HEAD
// runs the GET route, which sees a GET (the server sends the answer without
// its body), and Allow names HEAD wherever it names GET. Routes are added
// before serving; dispatch() is then thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "events/encoding.h"
#include "http/http.h"

namespace ordersd::http {

class Router {
 public:
  using Params = std::vector<std::string>;
  using Route = std::function<void(Request, Params, Responder)>;

  void add(std::string method, std::string pattern, Route route);

  // Calls the matching route, or answers 404/405 itself. `matched` gets the
  // pattern that matched ("unmatched" otherwise), for metrics.
  void dispatch(Request request, Responder respond, std::string* matched = nullptr) const;

 private:
  struct Entry {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Route route;
  };
  std::vector<Entry> entries_;
};

// Splits "/a/b/" into {"a", "b"} and "/a//b" into {"a", "", "b"}; every
// segment percent-decoded.
std::vector<std::string> split_path(std::string_view path);
// "%2F" -> "/"; malformed escapes stay as they are (events/encoding.h).
using ordersd::percent_decode;

}  // namespace ordersd::http
