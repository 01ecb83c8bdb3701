#include "http/router.h"

#include "http/params.h"

namespace ordersd::http {

namespace {
bool matches(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
             std::vector<std::string>* params) {
  if (pattern.size() != path.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    bool is_param = pattern[i].size() > 2 && pattern[i].front() == '{' && pattern[i].back() == '}';
    if (is_param) {
      if (path[i].empty()) return false;  // "{name}" is one non-empty segment
      if (params) params->push_back(path[i]);
    } else if (pattern[i] != path[i]) {
      return false;
    }
  }
  return true;
}
}  // namespace

// Splits on '/' before decoding, so an encoded "%2F" stays inside its segment.
std::vector<std::string> split_path(std::string_view path) {
  // One leading and one trailing slash are not segments; "//" inside is an
  // empty one, so "/orders//cancel" is not "/orders/cancel".
  if (path.starts_with('/')) path.remove_prefix(1);
  if (path.ends_with('/')) path.remove_suffix(1);
  std::vector<std::string> out;
  if (path.empty()) return out;
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(percent_decode(path.substr(start, slash - start)));
    if (slash == path.size()) return out;
    start = slash + 1;
  }
}

void Router::add(std::string method, std::string pattern, Route route) {
  auto segments = split_path(pattern);
  entries_.push_back({std::move(method), std::move(pattern), std::move(segments), std::move(route)});
}

void Router::dispatch(Request request, Responder respond, std::string* matched) const {
  std::vector<std::string> segments = split_path(request.path());
  for (const auto& segment : segments) {
    if (!valid_utf8(segment)) {
      if (matched) *matched = "unmatched";
      return respond(Response::problem(400, "Bad Request", "the path holds invalid UTF-8 once percent-decoded"));
    }
  }

  // HEAD is GET without the body: the GET route runs (and sees a GET), the
  // server leaves the body out and keeps its Content-Length.
  const bool head = request.method == "HEAD";
  std::string allow;
  for (const Entry& e : entries_) {
    if (!matches(e.segments, segments, nullptr)) continue;
    if (e.method == request.method || (head && e.method == "GET")) {
      Params params;
      matches(e.segments, segments, &params);
      if (matched) *matched = e.pattern;
      if (head) request.method = "GET";
      return e.route(std::move(request), std::move(params), std::move(respond));
    }
    if (!allow.empty()) allow += ", ";
    allow += e.method;
    if (e.method == "GET") allow += ", HEAD";
    if (matched) *matched = e.pattern;
  }
  if (!allow.empty()) {
    auto r = Response::problem(405, "Method Not Allowed",
                               request.method + " is not allowed on " + std::string(request.path()));
    r.set_header("Allow", allow);
    return respond(std::move(r));
  }
  if (matched) *matched = "unmatched";
  respond(Response::problem(404, "Not Found", "no route for " + std::string(request.path())));
}

}  // namespace ordersd::http
