#include "http/server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/resource.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "events/logging.h"

namespace ordersd::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class Session;

// An io_context whose pending handlers stop() can destroy. Handlers hold the
// Impl (and sessions, which hold it too) and the Impl owns the io_context:
// handlers left queued when the I/O threads stop would keep both alive for
// ever. shutdown() destroys them without running them, as ~io_context would.
struct IoContext : net::io_context {
  using net::io_context::shutdown;
};

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  ServerOptions options;
  Handler handler;
  IoContext ioc;
  // Keeps the I/O threads running while no operation is pending, as when
  // every session waits for its handler: stop() releases it when the
  // sessions are done.
  net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
  tcp::acceptor acceptor{net::make_strand(ioc)};
  // Delays the next accept while the process is out of file descriptors.
  net::steady_timer accept_backoff{acceptor.get_executor()};
  std::vector<std::thread> threads;
  uint16_t port = 0;
  std::atomic<bool> stopping{false};
  bool stopped = false;  // controlling thread only

  // Open sessions, so stop() can close the idle ones; guarded by mu.
  std::mutex mu;
  std::condition_variable all_closed;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  std::map<net::ip::address, size_t> per_address;  // open sessions by client address; guarded by mu

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
};

namespace {

void fail(beast::error_code ec, const char* what) {
  if (ec == net::error::operation_aborted || ec == beast::error::timeout || ec == net::error::eof ||
      ec == net::error::connection_reset || ec == net::error::broken_pipe ||
      ec == bhttp::error::end_of_stream || ec == net::error::bad_descriptor) {
    return;  // ordinary ends of a connection
  }
  // Rate-limited per kind: a failing accept (out of descriptors, say) repeats
  // as fast as the loop turns.
  logging::log_limited(logging::Level::kWarn, std::string("http/") + what, "http", std::string(what) + " failed",
                       {{"error", ec.message()}});
}

bool out_of_descriptors(const beast::error_code& ec) {
  return ec == net::error::no_descriptors || ec == net::error::no_buffer_space || ec == net::error::no_memory ||
         (ec.category() == boost::system::system_category() && ec.value() == ENFILE);
}

// Refuses a connection over a cap with a best-effort 503 (never blocking the
// acceptor: what does not fit the socket buffer is dropped), then closes it.
void refuse(tcp::socket& socket, std::string_view why) {
  Response problem = Response::problem(503, "Service Unavailable", why);
  std::string bytes = "HTTP/1.1 503 Service Unavailable\r\nServer: ordersd\r\nContent-Type: application/problem+json\r\n"
                      "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
                      std::to_string(problem.body.size()) + "\r\n\r\n" + problem.body;
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(net::buffer(bytes), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

// RFC 9112 section 6.3: a request whose framing is ambiguous cannot be read
// safely, and neither can anything after it on the connection. The only
// transfer coding accepted is a lone "chunked", never with Content-Length.
// Also section 3.2: an HTTP/1.1 request has exactly one Host. Returns what is
// wrong, or "".
std::string framing_problem(const bhttp::request_parser<bhttp::string_body>::value_type& header) {
  if (header.version() >= 11 && header.count(bhttp::field::host) != 1) {
    return "an HTTP/1.1 request must carry exactly one Host header";
  }
  size_t codings = 0;
  bool chunked_only = true;
  bool any_te = false;
  auto [first, last] = header.equal_range(bhttp::field::transfer_encoding);
  for (auto it = first; it != last; ++it) {
    any_te = true;
    std::string_view value(it->value().data(), it->value().size());
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string_view::npos) comma = value.size();
      std::string_view coding = value.substr(start, comma - start);
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) coding.remove_prefix(1);
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.remove_suffix(1);
      if (!coding.empty()) {
        ++codings;
        if (!beast::iequals(beast::string_view(coding.data(), coding.size()), "chunked")) chunked_only = false;
      }
      start = comma + 1;
    }
  }
  if (!any_te) return "";
  if (codings != 1 || !chunked_only) return "Transfer-Encoding must be chunked, alone";
  if (header.count(bhttp::field::content_length) > 0) return "Transfer-Encoding and Content-Length must not both be given";
  return "";
}

}  // namespace

// One connection: read a request, hand it to the handler, write the answer,
// repeat while keep-alive. Every step runs on the connection's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, net::ip::address address, std::shared_ptr<Server::Impl> server)
      : server_(std::move(server)), stream_(std::move(socket)), address_(std::move(address)) {}

  ~Session() {
    std::lock_guard lk(server_->mu);
    server_->sessions.erase(this);
    if (auto it = server_->per_address.find(address_); it != server_->per_address.end() && --it->second == 0) {
      server_->per_address.erase(it);
    }
    if (server_->sessions.empty()) server_->all_closed.notify_all();
  }

  void start() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::do_read, shared_from_this()));
  }

  // Called by stop(): a connection waiting for a request is closed now; one
  // with a request in flight closes after answering it.
  void close_if_idle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) self->stream_.socket().close();
    });
  }

 private:
  // Waits (up to the idle timeout) for the first byte of the next request,
  // unless it is already here; the request's deadlines run from it.
  void do_read() {
    if (server_->stopping) return do_close();
    if (buffer_.size()) return read_header();
    stream_.expires_after(server_->options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec) {
        fail(ec, "read");
        return self->do_close();
      }
      self->buffer_.commit(n);
      self->read_header();
    });
  }

  void read_header() {
    if (server_->stopping) return do_close();
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_->options.max_header_bytes));
    request_start_ = std::chrono::steady_clock::now();
    stream_.expires_at(request_start_ + std::min(server_->options.header_timeout, server_->options.read_timeout));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (server_->stopping) return do_close();
    if (ec) return on_read(ec, 0);
    if (std::string problem = framing_problem(parser_->get()); !problem.empty()) {
      return send(Response::problem(400, "Bad Request", problem), false);
    }
    if (parser_->is_done()) return on_read(ec, 0);
    stream_.expires_at(request_start_ + server_->options.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    // Stopping: a request read just now is not executed, since its answer
    // could not be delivered (stop() may already have closed the socket).
    if (server_->stopping) return do_close();
    if (ec == bhttp::error::body_limit) {
      return send(Response::problem(413, "Content Too Large",
                                    "the request body exceeds " + std::to_string(server_->options.max_body_bytes) +
                                        " bytes"),
                  false);
    }
    if (ec == bhttp::error::header_limit) {
      return send(Response::problem(431, "Request Header Fields Too Large", "the request headers are too large"),
                  false);
    }
    if (ec == bhttp::error::partial_message) {
      return send(Response::problem(400, "Bad Request", "the request ended before its body was complete"), false);
    }
    if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
        ec != bhttp::error::end_of_stream) {
      return send(Response::problem(400, "Bad Request", "malformed HTTP request: " + ec.message()), false);
    }
    if (ec) {
      fail(ec, "read");
      return do_close();
    }

    auto& message = parser_->get();
    Request request;
    request.method = std::string(message.method_string());
    request.target = origin_form(std::string_view(message.target().data(), message.target().size()));
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.remote_address = address_.to_string();
    bool keep_alive = message.keep_alive();

    busy_ = true;
    stream_.expires_never();  // the handler bounds its own work
    auto self = shared_from_this();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    Responder respond = [self, keep_alive, answered](Response response) {
      if (answered->exchange(true)) return;  // answered already (after a handler's exception, say)
      net::post(self->stream_.get_executor(), [self, keep_alive, response = std::move(response)]() mutable {
        self->send(std::move(response), keep_alive);
      });
    };
    // No exception leaves an I/O thread: the client gets a 500 without its
    // text (which may quote the request, or internals), the log gets the text.
    std::optional<std::string> failure;
    try {
      server_->handler(std::move(request), std::move(respond));
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "an exception that is not a std::exception";
    }
    if (failure) {
      logging::log_limited(logging::Level::kError, "http/handler", "http", "a request handler threw",
                           {{"error", *failure}});
      if (!answered->exchange(true)) {
        send(Response::problem(500, "Internal Server Error", "the server failed to handle the request"), false);
      }
    }
  }

  void send(Response response, bool keep_alive) {
    busy_ = true;
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(response.status));
    res->set(bhttp::field::server, "ordersd");
    for (auto& [k, v] : response.headers) res->set(k, v);
    res->body() = std::move(response.body);
    res->keep_alive(keep_alive && !server_->stopping);
    res->prepare_payload();
    stream_.expires_after(server_->options.read_timeout);
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      self->on_write(ec, res->keep_alive());
    });
  }

  void on_write(beast::error_code ec, bool keep_alive) {
    busy_ = false;
    if (ec) {
      fail(ec, "write");
      return do_close();
    }
    if (!keep_alive) return do_close();
    do_read();
  }

  // Half-closes, then reads and discards what the client still sends (at
  // most 1 MiB, for at most 2 s): closing with unread input would reset the
  // connection and could destroy an answer the client has not read yet.
  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      stream_.socket().close(ec);
      return;
    }
    stream_.expires_after(std::chrono::seconds(2));
    do_drain(0);
  }

  void do_drain(size_t drained) {
    stream_.async_read_some(net::buffer(scratch_), [self = shared_from_this(), drained](beast::error_code ec,
                                                                                        std::size_t n) {
      if (ec || drained + n > (1 << 20)) {
        beast::error_code ignored;
        self->stream_.socket().close(ignored);
        return;
      }
      self->do_drain(drained + n);
    });
  }

  // First, so destroyed last: the last session can hold the last reference
  // to the Impl, whose io_context the stream's socket and timer need.
  std::shared_ptr<Server::Impl> server_;
  beast::tcp_stream stream_;
  net::ip::address address_;  // the client's, for the per-address cap
  std::chrono::steady_clock::time_point request_start_;  // the first byte of the request being read
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool busy_ = false;  // a request is being handled or answered
  std::array<char, 4096> scratch_;
};

void Server::Impl::do_accept() {
  acceptor.async_accept(net::make_strand(ioc),
                        beast::bind_front_handler(&Server::Impl::on_accept, shared_from_this()));
}

void Server::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec) {
    if (ec == net::error::operation_aborted || stopping) return;
    fail(ec, "accept");  // rate-limited
    if (out_of_descriptors(ec)) {
      // Accepting again at once fails again at once: wait for descriptors to
      // be freed (connections ending) instead of spinning.
      accept_backoff.expires_after(std::chrono::milliseconds(100));
      accept_backoff.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec && !self->stopping) self->do_accept();
      });
      return;
    }
    return do_accept();
  }
  beast::error_code peer_ec;
  auto peer = socket.remote_endpoint(peer_ec);
  if (peer_ec) {  // gone already
    beast::error_code ignored;
    socket.close(ignored);
    if (!stopping) do_accept();
    return;
  }
  std::shared_ptr<Session> session;
  const char* refused = nullptr;
  {
    std::lock_guard lk(mu);
    size_t& from_address = per_address[peer.address()];
    if (stopping) {
      refused = "the server is shutting down";
    } else if (sessions.size() >= options.max_connections) {
      refused = "too many open connections";
    } else if (from_address >= options.max_connections_per_ip) {
      refused = "too many open connections from this address";
    } else {
      session = std::make_shared<Session>(std::move(socket), peer.address(), shared_from_this());
      sessions.emplace(session.get(), session);
      ++from_address;
    }
    if (from_address == 0) per_address.erase(peer.address());
  }
  if (session) {
    session->start();
  } else {
    refuse(socket, refused);
  }
  if (!stopping) do_accept();
}

Result<std::unique_ptr<Server>> Server::start(ServerOptions options, Handler handler) {
  auto impl = std::make_shared<Impl>();
  impl->options = std::move(options);
  impl->handler = std::move(handler);
  beast::error_code ec;
  auto address = net::ip::make_address(impl->options.host, ec);
  if (ec) return Status::invalid_argument("invalid listen address '" + impl->options.host + "'");
  tcp::endpoint endpoint(address, impl->options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::io_error("cannot listen on " + impl->options.host + ":" + std::to_string(impl->options.port) +
                            ": " + ec.message());
  }
  impl->port = impl->acceptor.local_endpoint().port();
  // Each connection holds a descriptor: past the limit, accepting fails and
  // so does the storage engine opening a file. Keep a quarter of the limit,
  // at most 256, for the rest of the process.
  if (rlimit limit{}; getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    size_t soft = static_cast<size_t>(limit.rlim_cur);
    size_t fits = soft - std::min<size_t>(256, soft / 4);
    impl->options.max_connections = std::max<size_t>(1, std::min(impl->options.max_connections, fits));
  }
  impl->do_accept();
  unsigned n = impl->options.threads ? impl->options.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) impl->threads.emplace_back([raw = impl.get()] { raw->ioc.run(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { stop(); }

uint16_t Server::port() const { return impl_->port; }

size_t Server::max_connections() const { return impl_->options.max_connections; }

void Server::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->stopping = true;
  net::post(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    impl->accept_backoff.cancel();
  });
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lk(impl_->mu);
    for (auto& [raw, weak] : impl_->sessions) {
      if (auto session = weak.lock()) open.push_back(std::move(session));
    }
  }
  for (auto& session : open) session->close_if_idle();
  open.clear();  // outside the lock: the last reference runs ~Session, which takes it
  {
    std::unique_lock lk(impl_->mu);
    impl_->all_closed.wait_for(lk, impl_->options.shutdown_grace, [&] { return impl_->sessions.empty(); });
  }
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->ioc.shutdown();  // breaks the cycle: see IoContext
}

}  // namespace ordersd::http
