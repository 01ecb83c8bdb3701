#include "api/console_api.h"

#include <string>

#include "api/problems.h"

namespace ordersd::api {

namespace {

// Scripts, styles and calls from this origin only; no frames, no plugins.
constexpr std::string_view kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const ConsoleAsset* find_asset(std::string_view name) {
  for (const auto& a : console_assets()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

// Whether the Accept-Encoding header takes gzip (and does not refuse it with q=0).
bool accepts_gzip(std::string_view accept) {
  size_t at = 0;
  while (at < accept.size()) {
    size_t comma = accept.find(',', at);
    std::string_view item = accept.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    at = comma == std::string_view::npos ? accept.size() : comma + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    std::string_view coding = item.substr(0, item.find(';'));
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    if (coding != "gzip" && coding != "x-gzip" && coding != "*") continue;
    size_t q = item.find("q=");
    if (q != std::string_view::npos && item.substr(q + 2).find_first_not_of("0.") == std::string_view::npos) {
      return false;  // q=0: refused
    }
    return true;
  }
  return false;
}

// Whether If-None-Match lists `etag` (a weak match counts for GET, RFC 9110 section 13.1.2) or is "*".
bool matches_etag(std::string_view if_none_match, std::string_view etag) {
  return if_none_match == "*" || (!if_none_match.empty() && if_none_match.find(etag) != std::string_view::npos);
}

http::Response serve(const http::Request& request, const ConsoleAsset& asset) {
  http::Response r;
  r.set_header("ETag", std::string(asset.etag));
  r.set_header("Cache-Control", "no-cache");
  r.set_header("Vary", "Accept-Encoding");
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("Referrer-Policy", "no-referrer");
  r.set_header("Content-Security-Policy", std::string(kPolicy));
  if (matches_etag(request.header("If-None-Match"), asset.etag)) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.set_header("Content-Type", std::string(asset.content_type));
  if (accepts_gzip(request.header("Accept-Encoding"))) {
    r.set_header("Content-Encoding", "gzip");
    r.body = std::string(asset.gzipped);
  } else {
    r.body = std::string(asset.bytes);
  }
  return r;
}

}  // namespace

void add_console_routes(Access& access, http::Router& router) {
  access.add(router, "GET", "/ui", [](http::Request r, http::Router::Params, http::Responder respond) {
    if (!r.path().ends_with('/')) {
      http::Response moved;
      moved.status = 308;
      std::string location = "/ui/";
      if (!r.query().empty()) location += "?" + std::string(r.query());
      moved.set_header("Location", location);
      return respond(std::move(moved));
    }
    respond(serve(r, *find_asset("index.html")));
  });
  access.add(router, "GET", "/ui/{asset}", [](http::Request r, http::Router::Params p, http::Responder respond) {
    const ConsoleAsset* asset = find_asset(p[0]);
    if (!asset) return respond(not_found("the console has no file " + p[0] + " (it has index.html, app.js, app.css)"));
    respond(serve(r, *asset));
  });
}

}  // namespace ordersd::api
