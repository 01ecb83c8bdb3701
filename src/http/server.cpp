#include "http/server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <condition_variable>
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
  std::vector<std::thread> threads;
  uint16_t port = 0;
  std::atomic<bool> stopping{false};
  bool stopped = false;  // controlling thread only

  // Open sessions, so stop() can close the idle ones; guarded by mu.
  std::mutex mu;
  std::condition_variable all_closed;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

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

}  // namespace

// One connection: read a request, hand it to the handler, write the answer,
// repeat while keep-alive. Every step runs on the connection's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<Server::Impl> server)
      : server_(std::move(server)), stream_(std::move(socket)) {}

  ~Session() {
    std::lock_guard lk(server_->mu);
    server_->sessions.erase(this);
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
  void do_read() {
    if (server_->stopping) return do_close();
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_->options.max_header_bytes));
    stream_.expires_after(buffer_.size() ? server_->options.read_timeout : server_->options.idle_timeout);
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
    request.target = std::string(message.target());
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    bool keep_alive = message.keep_alive();

    busy_ = true;
    stream_.expires_never();  // the handler bounds its own work
    auto self = shared_from_this();
    Responder respond = [self, keep_alive](Response response) {
      net::post(self->stream_.get_executor(), [self, keep_alive, response = std::move(response)]() mutable {
        self->send(std::move(response), keep_alive);
      });
    };
    try {
      server_->handler(std::move(request), std::move(respond));
    } catch (const std::exception& e) {
      send(Response::problem(500, "Internal Server Error", e.what()), false);
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
    fail(ec, "accept");
    return do_accept();
  }
  std::shared_ptr<Session> session;
  {
    std::lock_guard lk(mu);
    if (sessions.size() < options.max_connections && !stopping) {
      session = std::make_shared<Session>(std::move(socket), shared_from_this());
      sessions.emplace(session.get(), session);
    }
  }
  if (session) {
    session->start();
  } else {
    beast::error_code ignored;
    socket.close(ignored);  // over the connection cap
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
  impl->do_accept();
  unsigned n = impl->options.threads ? impl->options.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) impl->threads.emplace_back([raw = impl.get()] { raw->ioc.run(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { stop(); }

uint16_t Server::port() const { return impl_->port; }

void Server::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->stopping = true;
  net::post(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
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
