#include "http/http.h"

#include <nlohmann/json.hpp>
#include <strings.h>

namespace ordersd::http {

std::string_view Request::header(std::string_view name) const { return find_header(name).value_or(""); }

std::optional<std::string_view> Request::find_header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view Request::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view Request::query() const {
  std::string_view t = target;
  size_t q = t.find('?');
  return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

Response& Response::set_header(std::string name, std::string value) {
  for (auto& [k, v] : headers) {
    if (strcasecmp(k.c_str(), name.c_str()) == 0) {
      v = std::move(value);
      return *this;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.set_header("Content-Type", "application/json");
  return r;
}

Response Response::problem(int status, std::string_view title, std::string_view detail) {
  nlohmann::ordered_json j;
  j["type"] = "about:blank";
  j["title"] = std::string(title);
  j["status"] = status;
  j["detail"] = std::string(detail);
  Response r;
  r.status = status;
  // A detail may quote the request (a path, a parameter): bytes that are not
  // UTF-8 are replaced rather than thrown on.
  r.body = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  r.set_header("Content-Type", "application/problem+json");
  return r;
}

Response Response::streamed(int status, std::string content_type, StreamStart start) {
  Response r;
  r.status = status;
  r.stream = std::move(start);
  r.set_header("Content-Type", std::move(content_type));
  return r;
}

std::string origin_form(std::string_view target) {
  size_t scheme = 0;
  if (target.size() >= 7 && strncasecmp(target.data(), "http://", 7) == 0) {
    scheme = 7;
  } else if (target.size() >= 8 && strncasecmp(target.data(), "https://", 8) == 0) {
    scheme = 8;
  } else {
    return std::string(target);
  }
  std::string_view rest = target.substr(scheme);
  size_t path = rest.find_first_of("/?#");
  if (path == std::string_view::npos) return "/";
  rest.remove_prefix(path);
  if (rest.front() == '/') return std::string(rest);
  return "/" + std::string(rest);  // "http://host?q" has the empty path, which is "/"
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
  }
  return "Unknown";
}

}  // namespace ordersd::http
