#include "bus/bus.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "bus/amqp_bus.h"
#include "bus/nats_bus.h"
#include "events/logging.h"

namespace ordersd::bus {

namespace {

constexpr const char* kJwtMarker = "-----BEGIN NATS USER JWT-----";

}  // namespace

Result<std::unique_ptr<Bus>> connect_bus(const std::string& url, const BusSecurity& security,
                                         const std::string& shards) {
  const std::string first = url.substr(0, url.find(','));
  std::string_view scheme = split_url(first).scheme;
  if (scheme == "amqp://" || scheme == "amqps://") {
    if (!shards.empty()) return Status::invalid_argument("shards need a NATS bus: RabbitMQ streams carry no routes");
    auto bus = AmqpBus::connect(url, security);
    if (!bus) return bus.status();
    return std::unique_ptr<Bus>(std::move(bus).value());
  }
  if (scheme == "nats://" || scheme == "tls://" || scheme.empty()) {
    auto bus = NatsBus::connect(url, security, shards);
    if (!bus) return bus.status();
    return std::unique_ptr<Bus>(std::move(bus).value());
  }
  return Status::invalid_argument("the bus URL " + redact_url(url) +
                                  " names no broker ordersd speaks to: nats://, tls://, amqp:// or amqps://");
}

UrlParts split_url(std::string_view url) {
  UrlParts parts;
  size_t at = 0;
  if (size_t scheme = url.find("://"); scheme != std::string_view::npos) {
    parts.scheme = url.substr(0, scheme + 3);
    at = scheme + 3;
  }
  std::string_view rest = url.substr(at);
  size_t authority_end = rest.find('/');
  std::string_view authority = rest.substr(0, authority_end);
  size_t amp = authority.rfind('@');
  if (amp == std::string_view::npos) {
    parts.hostport = rest;
  } else {
    parts.userinfo = rest.substr(0, amp);
    parts.hostport = rest.substr(amp + 1);
  }
  return parts;
}

// The host of a URL's "host:port", without an IPv6 address's brackets.
std::string host_of(std::string_view hostport) {
  std::string_view authority = hostport.substr(0, hostport.find('/'));
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    return std::string(authority.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  return std::string(authority.substr(0, authority.rfind(':')));
}

// Every occurrence of each secret in `text` replaced by "***".
std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), "***");
    }
  }
  return text;
}

Result<Credentials> read_credentials(const std::string& path, bool allow_nats_creds) {
  const std::string named = "the broker credentials file " + path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::invalid_argument("cannot read " + named + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::invalid_argument(named + " is not a regular file");
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status::invalid_argument("cannot read " + named + ": " + std::strerror(e));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > 64 * 1024) {
      ::close(fd);
      return Status::invalid_argument(named + " is too large for one line user:password or a NATS credentials file");
    }
  }
  ::close(fd);
  if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    logging::warn("bus", "the broker credentials file may be read by others than its owner: chmod 600 it",
                  {{"file", path}, {"mode", mode}});
  }
  Credentials out;
  if (text.find(kJwtMarker) != std::string::npos) {
    if (!allow_nats_creds) return Status::invalid_argument(named + " is a NATS credentials file; this broker takes one line user:password");
    out.nats_creds_file = true;
    return out;
  }
  // One line user:password; a final newline (or CRLF) is allowed, nothing else.
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) {
    return Status::invalid_argument(named + " is empty: it holds one line user:password" +
                                    (allow_nats_creds ? ", or is a NATS credentials file" : ""));
  }
  const std::string malformed =
      named + " is malformed: it holds one line user:password (no spaces in the user)" +
      (allow_nats_creds ? ", or is a NATS credentials file" : "");
  if (text.find_first_of("\r\n") != std::string::npos) return Status::invalid_argument(malformed);
  size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return Status::invalid_argument(malformed);
  out.user = text.substr(0, colon);
  out.password = text.substr(colon + 1);
  if (out.user.find_first_of(" \t") != std::string::npos) return Status::invalid_argument(malformed);
  return out;
}

std::string redact_url(std::string_view url) {
  std::string out;
  size_t at = 0;
  for (;;) {
    size_t comma = url.find(',', at);
    std::string_view one = url.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    UrlParts parts = split_url(one);
    out += parts.scheme;
    if (!parts.userinfo.empty()) {
      size_t colon = parts.userinfo.find(':');
      out += colon == std::string_view::npos ? std::string("***")
                                             : std::string(parts.userinfo.substr(0, colon)) + ":***";
      out += '@';
    }
    out += parts.hostport;
    if (comma == std::string_view::npos) return out;
    out += ',';
    at = comma + 1;
  }
}

}  // namespace ordersd::bus
