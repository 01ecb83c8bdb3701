#include "http/server.h"

#include "events/thread_name.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "events/logging.h"

namespace ordersd::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using SslContext = net::ssl::context;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

class SessionBase;

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

  // With TLS: the context new connections are given; reload_tls() swaps in
  // a new one (open connections keep theirs). Guarded by tls_mu.
  std::mutex tls_mu;
  std::shared_ptr<SslContext> tls_context;

  // Open sessions, so stop() can close the idle ones; guarded by mu.
  std::mutex mu;
  std::condition_variable all_closed;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  std::map<net::ip::address, size_t> per_address;  // open sessions by client address; guarded by mu

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
};

namespace {

void fail(beast::error_code ec, const char* what) {
  // A TLS client that closes without close_notify truncates the stream: as
  // ordinary as a plain client's close.
  if (ec == net::error::operation_aborted || ec == beast::error::timeout || ec == net::error::eof ||
      ec == net::error::connection_reset || ec == net::error::broken_pipe ||
      ec == bhttp::error::end_of_stream || ec == net::error::bad_descriptor ||
      ec == net::ssl::error::stream_truncated) {
    return;  // ordinary ends of a connection
  }
  // Rate-limited per kind: a failing accept (out of descriptors, say) repeats
  // as fast as the loop turns.
  logging::log_limited(logging::Level::kWarn, std::string("http/") + what, "http", std::string(what) + " failed",
                       {{"error", ec.message()}});
}

// The OpenSSL errors queued on this thread, oldest first; clears the queue.
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* lib = ERR_lib_error_string(e);
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += std::string(lib ? lib : "OpenSSL") + ": " + (reason ? reason : "error " + std::to_string(e));
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

// "" when `path` can be opened for reading, else why not.
std::string unreadable(const std::string& path) {
  if (path.empty()) return "no file named";
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return std::strerror(errno);
  std::fclose(f);
  return "";
}

// An encrypted key fails to load instead of prompting on the terminal.
int no_password(char*, int, int, void*) { return 0; }

Status tls_file_error(const char* what, const std::string& path, const std::string& why) {
  return Status::invalid_argument(std::string("TLS ") + what + " '" + path + "': " + why);
}

// A server context from the PEM files: TLS 1.2 or 1.3, OpenSSL's default
// ciphers, no compression, no renegotiation; with a client CA, a client
// certificate it signed is required.
Result<std::shared_ptr<SslContext>> make_tls_context(const TlsFiles& files) {
  ERR_clear_error();
  struct Named {
    const char* what;
    const std::string& path;
  };
  for (const Named& file : {Named{"certificate file", files.cert_file}, Named{"key file", files.key_file}}) {
    if (std::string why = unreadable(file.path); !why.empty()) return tls_file_error(file.what, file.path, why);
  }
  if (!files.client_ca_file.empty()) {
    if (std::string why = unreadable(files.client_ca_file); !why.empty()) {
      return tls_file_error("client CA file", files.client_ca_file, why);
    }
  }
  std::shared_ptr<SslContext> ctx;
  try {
    ctx = std::make_shared<SslContext>(SslContext::tls_server);
  } catch (const std::exception& e) {
    return Status::io_error(std::string("cannot create a TLS context: ") + e.what());
  }
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_default_passwd_cb(native, &no_password);
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return Status::io_error("cannot require TLS 1.2 or later: " + openssl_errors());
  }
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(native, files.cert_file.c_str()) != 1) {
    return tls_file_error("certificate file", files.cert_file, "not a PEM certificate chain: " + openssl_errors());
  }
  // The key is parsed on its own first, so that a damaged key and one that
  // belongs to another certificate are told apart.
  EVP_PKEY* key = nullptr;
  if (BIO* bio = BIO_new_file(files.key_file.c_str(), "r")) {
    key = PEM_read_bio_PrivateKey(bio, nullptr, &no_password, nullptr);
    BIO_free(bio);
  }
  if (!key) {
    return tls_file_error("key file", files.key_file, "not an unencrypted PEM private key: " + openssl_errors());
  }
  int used = SSL_CTX_use_PrivateKey(native, key);  // takes a reference of its own
  EVP_PKEY_free(key);
  if (used != 1 || SSL_CTX_check_private_key(native) != 1) {
    return tls_file_error("key file", files.key_file,
                          "does not match the certificate in '" + files.cert_file + "': " + openssl_errors());
  }
  if (!files.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(native, files.client_ca_file.c_str(), nullptr) != 1) {
      return tls_file_error("client CA file", files.client_ca_file,
                            "not a PEM certificate bundle: " + openssl_errors());
    }
    // Named in the certificate request, for clients holding several.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca_file.c_str());
    if (!names) {
      return tls_file_error("client CA file", files.client_ca_file, "holds no certificate: " + openssl_errors());
    }
    SSL_CTX_set_client_CA_list(native, names);  // takes ownership
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  // OpenSSL refuses to resume a session under client verification without one.
  static constexpr unsigned char kSessionIdContext[] = "ordersd";
  SSL_CTX_set_session_id_context(native, kSessionIdContext, sizeof kSessionIdContext - 1);
  ERR_clear_error();
  return ctx;
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

// What the server knows of every connection, plain or TLS: its client's
// address (for the per-address cap) and the server it belongs to.
class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  SessionBase(net::ip::address address, std::shared_ptr<Server::Impl> server)
      : server_(std::move(server)), address_(std::move(address)) {}

  // Runs after the derived session's stream is gone.
  virtual ~SessionBase() {
    std::lock_guard lk(server_->mu);
    server_->sessions.erase(this);
    if (auto it = server_->per_address.find(address_); it != server_->per_address.end() && --it->second == 0) {
      server_->per_address.erase(it);
    }
    if (server_->sessions.empty()) server_->all_closed.notify_all();
  }

  virtual void start() = 0;
  // Called by stop(): a connection waiting for a request is closed now; one
  // with a request in flight closes after answering it.
  virtual void close_if_idle() = 0;

 protected:
  // Destroyed after the derived session's stream: the last session can hold
  // the last reference to the Impl, whose io_context the stream's socket and
  // timer need.
  std::shared_ptr<Server::Impl> server_;
  net::ip::address address_;  // the client's, for the per-address cap
};

// One connection: (with TLS, a handshake, then) read a request, hand it to
// the handler, write the answer, repeat while keep-alive. Every step runs on
// the connection's strand. One code path for both streams: only the
// handshake and the close differ.
template <class Stream>
class Session : public SessionBase {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  // `tls`: the context of a TLS session, null for a plain one.
  Session(tcp::socket&& socket, std::shared_ptr<SslContext> tls, net::ip::address address,
          std::shared_ptr<Server::Impl> server)
      : SessionBase(std::move(address), std::move(server)),
        tls_(std::move(tls)),
        stream_(open_stream(std::move(socket), tls_.get())) {}

  void start() override {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::begin, self()));
  }

  void close_if_idle() override {
    net::post(stream_.get_executor(), [self = self()] {
      if (self->streaming_) return self->stream_stopping();
      if (!self->busy_) {
        beast::error_code ignored;
        self->lowest().socket().close(ignored);
      }
    });
  }

 private:
  static Stream open_stream(tcp::socket&& socket, SslContext* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  std::shared_ptr<Session> self() { return std::static_pointer_cast<Session>(shared_from_this()); }
  // The TCP stream under TLS (or the stream itself): its timer bounds every
  // operation on the stream above it.
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  // With TLS, the handshake is the first thing a client sends: it must end
  // within the header timeout. A failed one closes the connection.
  void begin() {
    if constexpr (kTls) {
      if (server_->stopping) return do_close();
      lowest().expires_after(server_->options.header_timeout);
      stream_.async_handshake(net::ssl::stream_base::server, [self = self()](beast::error_code ec) {
        if (ec) {
          fail(ec, "tls handshake");
          beast::error_code ignored;
          self->lowest().socket().close(ignored);
          return;
        }
        self->do_read();
      });
    } else {
      do_read();
    }
  }

  // Waits (up to the idle timeout) for the first byte of the next request,
  // unless it is already here; the request's deadlines run from it.
  void do_read() {
    if (server_->stopping) return do_close();
    if (buffer_.size()) return read_header();
    lowest().expires_after(server_->options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = self()](beast::error_code ec, std::size_t n) {
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
    head_ = false;
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_->options.max_header_bytes));
    request_start_ = std::chrono::steady_clock::now();
    lowest().expires_at(request_start_ + std::min(server_->options.header_timeout, server_->options.read_timeout));
    bhttp::async_read_header(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_header, self()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (server_->stopping) return do_close();
    if (ec) return on_read(ec, 0);
    if (std::string problem = framing_problem(parser_->get()); !problem.empty()) {
      return send(Response::problem(400, "Bad Request", problem), false);
    }
    if (parser_->is_done()) return on_read(ec, 0);
    lowest().expires_at(request_start_ + server_->options.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, self()));
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
    head_ = message.method() == bhttp::verb::head;
    request_version_ = message.version();

    busy_ = true;
    lowest().expires_never();  // the handler bounds its own work
    auto self = this->self();
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
    if (response.stream && head_) return send_stream_head(std::move(response));
    if (response.stream) return send_stream(std::move(response));
    busy_ = true;
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(response.status));
    res->set(bhttp::field::server, "ordersd");
    for (auto& [k, v] : response.headers) res->set(k, v);
    res->keep_alive(keep_alive && !server_->stopping);
    if (head_) {
      // The answer to HEAD is GET's without the body: the same headers,
      // Content-Length included (RFC 9110 section 9.3.2).
      res->content_length(response.body.size());
    } else {
      res->body() = std::move(response.body);
      res->prepare_payload();
    }
    lowest().expires_after(server_->options.read_timeout);
    bhttp::async_write(stream_, *res, [self = self(), res](beast::error_code ec, std::size_t) {
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

  // --- A streamed response (Response::stream).
  //
  // The head goes out, then each part the route pushes as one chunk
  // (HTTP/1.1) or as it is (HTTP/1.0, the close ending the body); the
  // connection closes after the body. While the body is open, writes are not
  // timed (the route sees pending() and decides when a client that does not
  // read must go); once the route ends it, the rest must be written within
  // the read timeout. Nothing is read from the client meanwhile: the socket
  // is only watched, so that a client that goes away is noticed at once
  // (EOF, a reset, or with TLS 1.2 an alert record such as close_notify)
  // rather than at the next write (see stream_hangup_check for a client that
  // sent bytes).

  // What the route holds. It keeps the session alive; the session holds it
  // weakly, so a route that drops it without end() ends the stream.
  class Body final : public BodyStream {
   public:
    Body(std::shared_ptr<Session> session, bool chunked) : session_(std::move(session)), chunked_(chunked) {}
    ~Body() override {
      if (!ended_.exchange(true)) net::post(session_->stream_.get_executor(), [s = session_] { s->stream_end(); });
    }

    bool write(std::string bytes) override {
      if (ended_ || gone_) return false;
      if (bytes.empty()) return true;
      if (chunked_) {
        char size[24];
        int n = std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
        bytes.insert(0, size, static_cast<size_t>(n));
        bytes += "\r\n";
      }
      pending_ += bytes.size();
      net::post(session_->stream_.get_executor(),
                [s = session_, bytes = std::move(bytes)]() mutable { s->stream_push(std::move(bytes)); });
      return true;
    }
    void end() override {
      if (ended_.exchange(true)) return;
      net::post(session_->stream_.get_executor(), [s = session_] { s->stream_end(); });
    }
    size_t pending() const override { return pending_; }
    bool gone() const override { return gone_; }
    bool stopping() const override { return stopping_; }
    void on_close(std::function<void()> hook) override {
      std::unique_lock lk(mu_);
      if (closed_) {
        lk.unlock();
        hook();
        return;
      }
      close_hook_ = std::move(hook);
    }
    void on_drain(std::function<void()> hook) override {
      std::lock_guard lk(mu_);
      drain_hook_ = std::make_shared<std::function<void()>>(std::move(hook));
    }

    // The session's side, on its strand.
    void written(size_t n) {
      pending_ -= std::min<size_t>(n, pending_);
      std::shared_ptr<std::function<void()>> hook;
      {
        std::lock_guard lk(mu_);
        hook = drain_hook_;
      }
      if (hook && *hook) (*hook)();
    }
    void closing(bool gone) {
      if (gone) gone_ = true;
      else stopping_ = true;
      std::function<void()> hook;
      {
        std::lock_guard lk(mu_);
        if (closed_) return;
        closed_ = true;
        hook = std::move(close_hook_);
      }
      if (hook) hook();
    }

   private:
    const std::shared_ptr<Session> session_;
    const bool chunked_;
    std::atomic<bool> ended_{false}, gone_{false}, stopping_{false};
    std::atomic<size_t> pending_{0};
    std::mutex mu_;
    bool closed_ = false;  // the close hook ran (or had nothing to run); guarded by mu_
    std::function<void()> close_hook_;                    // guarded by mu_
    std::shared_ptr<std::function<void()>> drain_hook_;  // guarded by mu_
  };

  // HEAD of a streamed route: the head GET would get, then the close (a
  // stream has no length to announce); the stream itself never starts.
  void send_stream_head(Response response) {
    busy_ = true;
    auto res = std::make_shared<bhttp::response<bhttp::empty_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(response.status));
    res->set(bhttp::field::server, "ordersd");
    for (auto& [k, v] : response.headers) res->set(k, v);
    res->keep_alive(false);
    lowest().expires_after(server_->options.read_timeout);
    bhttp::async_write(stream_, *res, [self = self(), res](beast::error_code ec, std::size_t) {
      self->on_write(ec, false);
    });
  }

  void send_stream(Response response) {
    busy_ = true;
    streaming_ = true;
    bool chunked = request_version_ >= 11;
    stream_chunked_ = chunked;
    auto head = std::make_shared<bhttp::response<bhttp::empty_body>>();
    head->version(chunked ? 11 : 10);
    head->result(static_cast<unsigned>(response.status));
    head->set(bhttp::field::server, "ordersd");
    for (auto& [k, v] : response.headers) head->set(k, v);
    head->keep_alive(false);
    if (chunked) head->chunked(true);
    auto serializer = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*head);
    auto body = std::make_shared<Body>(self(), chunked);
    body_ = body;
    lowest().expires_never();
    stream_writing_ = true;  // the head
    bhttp::async_write_header(stream_, *serializer, [self = self(), head, serializer](beast::error_code ec, std::size_t) {
      self->stream_writing_ = false;
      if (ec) {
        fail(ec, "write");
        return self->stream_gone();
      }
      self->stream_watch();
      self->stream_next();
    });
    if (server_->stopping) stream_stopping();
    // The route's code, run here on the I/O thread: like a handler, it must
    // not throw out of it.
    try {
      response.stream(std::move(body));
    } catch (const std::exception& e) {
      logging::log_limited(logging::Level::kError, "http/stream", "http", "a streamed response's start threw",
                           {{"error", e.what()}});
    } catch (...) {
      logging::log_limited(logging::Level::kError, "http/stream", "http", "a streamed response's start threw", {});
    }
  }

  void stream_push(std::string bytes) {
    if (stream_closed_ || stream_ending_) return;
    stream_queue_ += bytes;
    if (!stream_writing_) stream_next();
  }

  void stream_end() {
    if (stream_closed_ || stream_ending_) return;
    stream_ending_ = true;
    if (stream_chunked_) stream_queue_ += "0\r\n\r\n";
    // What is left must go within the read timeout, like any answer.
    stream_deadline_.emplace(stream_.get_executor());
    stream_deadline_->expires_after(server_->options.read_timeout);
    stream_deadline_->async_wait([self = self()](beast::error_code ec) {
      if (!ec) self->stream_gone();
    });
    if (!stream_writing_) stream_next();
  }

  // Writes what is queued; once the body is ended and all written, closes.
  void stream_next() {
    if (stream_closed_ || stream_writing_) return;
    if (stream_queue_.empty()) {
      if (stream_ending_) stream_finish();
      return;
    }
    stream_out_ = std::move(stream_queue_);
    stream_queue_.clear();
    stream_writing_ = true;
    net::async_write(stream_, net::buffer(stream_out_), [self = self()](beast::error_code ec, std::size_t n) {
      self->stream_writing_ = false;
      if (ec) {
        fail(ec, "write");
        return self->stream_gone();
      }
      if (auto body = self->body_.lock()) body->written(n);
      self->stream_next();
    });
  }

  // Watches the socket for the client going away (see above).
  void stream_watch() {
    if (stream_closed_) return;
    lowest().socket().async_wait(tcp::socket::wait_read, [self = self()](beast::error_code ec) {
      if (ec == net::error::operation_aborted || self->stream_closed_) return;
      if (ec) return self->stream_gone();
      unsigned char first = 0;
      ssize_t n = ::recv(self->lowest().socket().native_handle(), &first, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return self->stream_watch();
      // 21: a TLS 1.2 alert record (close_notify, or an error).
      if (n <= 0 || (kTls && first == 21)) return self->stream_gone();
      self->stream_hangup_check();
    });
  }

  // Bytes from the client wait unread (a pipelined request, or with TLS 1.3
  // an alert, which looks like data): readiness says nothing more, but the
  // client closing its end (after them) still shows as POLLRDHUP. Looked
  // at now, then once a second.
  void stream_hangup_check() {
    if (stream_closed_) return;
    pollfd p{lowest().socket().native_handle(), POLLRDHUP, 0};
    if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) return stream_gone();
    if (!stream_recheck_) stream_recheck_.emplace(stream_.get_executor());
    stream_recheck_->expires_after(std::chrono::seconds(1));
    stream_recheck_->async_wait([self = self()](beast::error_code ec) {
      if (!ec) self->stream_hangup_check();
    });
  }

  // The body is written: the connection closes as after any answer.
  void stream_finish() {
    stream_closed_ = true;
    streaming_ = false;
    busy_ = false;
    if (stream_deadline_) stream_deadline_->cancel();
    if (stream_recheck_) stream_recheck_->cancel();
    beast::error_code ignored;
    lowest().socket().cancel(ignored);  // the watch
    body_.reset();
    do_close();
  }

  // The client went away, a write failed, or the end took too long.
  void stream_gone() {
    if (stream_closed_) return;
    stream_closed_ = true;
    streaming_ = false;
    busy_ = false;
    if (stream_deadline_) stream_deadline_->cancel();
    if (stream_recheck_) stream_recheck_->cancel();
    stream_queue_.clear();
    if (auto body = body_.lock()) body->closing(true);
    body_.reset();
    beast::error_code ignored;
    lowest().socket().close(ignored);
  }

  void stream_stopping() {
    if (stream_closed_) return;
    if (auto body = body_.lock()) body->closing(false);
  }

  // Closes without destroying an answer the client has not read yet. With
  // TLS, first a close_notify, waiting for the client's; then, as for plain
  // HTTP, half-closes and reads and discards what the client still sends
  // (at most 1 MiB): closing with unread input would reset the connection.
  // All of it within 2 s.
  void do_close() {
    if (!lowest().socket().is_open()) return;
    lowest().expires_after(std::chrono::seconds(2));
    if constexpr (kTls) {
      stream_.async_shutdown([self = self()](beast::error_code) { self->close_tcp(); });
    } else {
      close_tcp();
    }
  }

  void close_tcp() {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      lowest().socket().close(ec);
      return;
    }
    do_drain(0);
  }

  void do_drain(size_t drained) {
    lowest().async_read_some(net::buffer(scratch_), [self = self(), drained](beast::error_code ec, std::size_t n) {
      if (ec || drained + n > (1 << 20)) {
        beast::error_code ignored;
        self->lowest().socket().close(ignored);
        return;
      }
      self->do_drain(drained + n);
    });
  }

  std::shared_ptr<SslContext> tls_;  // before stream_, which uses it to the end
  Stream stream_;
  std::chrono::steady_clock::time_point request_start_;  // the first byte of the request being read
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool busy_ = false;  // a request is being handled or answered
  bool head_ = false;  // the request being answered is a HEAD: its answer has no body
  std::array<char, 4096> scratch_;
  unsigned request_version_ = 11;  // of the request being answered: 10 for HTTP/1.0
  // A streamed response, on the strand (see send_stream).
  bool streaming_ = false;       // its head is out and it has not ended
  bool stream_writing_ = false;  // a write (the head, or chunks) is in flight
  bool stream_ending_ = false;   // the route ended it
  bool stream_closed_ = false;   // finished or gone: nothing more is written
  bool stream_chunked_ = true;   // HTTP/1.1: chunks, ended by the last chunk; HTTP/1.0: the close ends it
  std::string stream_queue_;     // framed, not yet handed to a write
  std::string stream_out_;       // the write in flight
  std::weak_ptr<Body> body_;
  std::optional<net::steady_timer> stream_deadline_;  // for the rest, once ended
  std::optional<net::steady_timer> stream_recheck_;   // of a hang-up behind unread bytes
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
  std::shared_ptr<SslContext> tls;
  if (options.tls) {
    std::lock_guard lk(tls_mu);
    tls = tls_context;
  }
  std::shared_ptr<SessionBase> session;
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
      if (tls) {
        session = std::make_shared<Session<TlsStream>>(std::move(socket), std::move(tls), peer.address(),
                                                       shared_from_this());
      } else {
        session = std::make_shared<Session<PlainStream>>(std::move(socket), nullptr, peer.address(),
                                                         shared_from_this());
      }
      sessions.emplace(session.get(), session);
      ++from_address;
    }
    if (from_address == 0) per_address.erase(peer.address());
  }
  if (session) {
    session->start();
  } else if (options.tls) {
    beast::error_code ignored;  // a plain 503 would mean nothing to a TLS client
    socket.close(ignored);
  } else {
    refuse(socket, refused);
  }
  if (!stopping) do_accept();
}

Result<std::unique_ptr<Server>> Server::start(ServerOptions options, Handler handler) {
  auto impl = std::make_shared<Impl>();
  impl->options = std::move(options);
  impl->handler = std::move(handler);
  if (impl->options.tls) {
    auto tls = make_tls_context(*impl->options.tls);
    if (!tls) return tls.status();
    impl->tls_context = std::move(tls).value();
  }
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
  for (unsigned i = 0; i < n; ++i) {
    impl->threads.emplace_back([raw = impl.get(), i] {
      events::name_this_thread("http-io-" + std::to_string(i + 1));
      raw->ioc.run();
    });
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { stop(); }

uint16_t Server::port() const { return impl_->port; }

size_t Server::max_connections() const { return impl_->options.max_connections; }

Status Server::reload_tls() {
  if (!impl_->options.tls) return Status::invalid_argument("the server does not serve TLS");
  auto tls = make_tls_context(*impl_->options.tls);
  if (!tls) return tls.status();
  std::shared_ptr<SslContext> old;  // released outside the lock
  std::lock_guard lk(impl_->tls_mu);
  old = std::exchange(impl_->tls_context, std::move(tls).value());
  return Status::ok();
}

void Server::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->stopping = true;
  net::post(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    impl->accept_backoff.cancel();
  });
  std::vector<std::shared_ptr<SessionBase>> open;
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
