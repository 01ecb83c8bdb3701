#include "support/raw_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>

namespace ordersd::test {

RawSocket::RawSocket(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect failed");
  }
}

RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawSocket::send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

namespace {
// Reads what is there within `left`: >0 bytes appended, 0 at EOF or reset,
// -1 when nothing came in time.
int read_some(int fd, std::string& out, std::chrono::milliseconds left) {
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return -1;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    out.append(buf, static_cast<size_t>(n));
    return 1;
  }
}

// The length of the first whole response in `data`, or 0 when it is not all there.
size_t whole_response(const std::string& data) {
  size_t head_end = data.find("\r\n\r\n");
  if (head_end == std::string::npos) return 0;
  size_t length = 0;
  std::string head = data.substr(0, head_end);
  for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t at = head.find("\r\ncontent-length:");
  if (at != std::string::npos) length = std::strtoull(head.c_str() + at + 17, nullptr, 10);
  size_t total = head_end + 4 + length;
  return data.size() >= total ? total : 0;
}
}  // namespace

RawSocket::Received RawSocket::read_until_closed(std::chrono::milliseconds timeout) {
  Received r;
  r.data = std::move(pending_);
  pending_.clear();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int got = read_some(fd_, r.data, left);
    if (got == 0) {
      r.closed = true;
      return r;
    }
    if (got < 0) return r;
  }
}

RawSocket::Received RawSocket::read_response(std::chrono::milliseconds timeout) {
  Received r;
  std::string data = std::move(pending_);
  pending_.clear();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (size_t n = whole_response(data)) {
      r.data = data.substr(0, n);
      pending_ = data.substr(n);
      return r;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int got = read_some(fd_, data, left);
    if (got <= 0) {
      r.closed = got == 0;
      r.data = std::move(data);
      return r;
    }
  }
}

int status_of(const std::string& data) {
  if (!data.starts_with("HTTP/1.")) return 0;
  size_t sp = data.find(' ');
  if (sp == std::string::npos) return 0;
  return std::atoi(data.c_str() + sp + 1);
}

}  // namespace ordersd::test
