#include "bus/nats_bus.h"

#include <fcntl.h>
#include <nats/nats.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "events/logging.h"

namespace ordersd::bus {

namespace {

constexpr const char* kAllSubjects = "ordersd.events.>";
constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr const char* kJwtMarker = "-----BEGIN NATS USER JWT-----";

Status failed(const std::string& what, natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  std::string text = what + ": " + natsStatus_GetText(s);
  if (jerr != 0) text += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  if (const char* last = nats_GetLastError(nullptr); last && *last) text += ": " + std::string(last);
  return Status::io_error(text);
}

// The cnats library is opened once per process and never closed: its threads
// may outlive any one connection.
void open_library() {
  static std::once_flag once;
  std::call_once(once, [] { nats_Open(-1); });
}

// One URL of a list, cut into what comes before its user info, the user
// info ("" when none) and the rest.
struct UrlParts {
  std::string_view scheme;    // "nats://", or "" when the URL has none
  std::string_view userinfo;  // "user:password", "token" or ""
  std::string_view hostport;  // "host:port" and anything after it
};

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

std::string_view first_url(std::string_view url) { return url.substr(0, url.find(',')); }

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

// What --bus-creds names: a user and password, or a NATS credentials file
// that cnats reads itself.
struct Credentials {
  std::string user;
  std::string password;
  bool nats_creds_file = false;
};

Result<Credentials> read_credentials(const std::string& path) {
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
    out.nats_creds_file = true;
    return out;
  }
  // One line user:password; a final newline (or CRLF) is allowed, nothing else.
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) {
    return Status::invalid_argument(named +
                                    " is empty: it holds one line user:password, or is a NATS credentials file");
  }
  const std::string malformed =
      named + " is malformed: it holds one line user:password (no spaces in the user), or is a NATS credentials file";
  if (text.find_first_of("\r\n") != std::string::npos) return Status::invalid_argument(malformed);
  size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return Status::invalid_argument(malformed);
  out.user = text.substr(0, colon);
  out.password = text.substr(colon + 1);
  if (out.user.find_first_of(" \t") != std::string::npos) return Status::invalid_argument(malformed);
  return out;
}

// Failures a broker that is starting or restarting gives; any other at
// connect (refused credentials, TLS) is not tried again.
bool transient(natsStatus s) {
  return s == NATS_NO_SERVER || s == NATS_TIMEOUT || s == NATS_IO_ERROR || s == NATS_CONNECTION_CLOSED ||
         s == NATS_CONNECTION_DISCONNECTED || s == NATS_STALE_CONNECTION;
}

}  // namespace

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

std::string inbox_prefix_of(std::string_view user) { return "_INBOX." + std::string(user); }

std::string subject_of_kind(std::string_view kind) { return "ordersd.events." + std::string(kind); }

// --- Delivery

Delivery::Delivery(Delivery&& other) noexcept : msg_(other.msg_) { other.msg_ = nullptr; }

Delivery& Delivery::operator=(Delivery&& other) noexcept {
  if (this != &other) {
    if (msg_) natsMsg_Destroy(static_cast<natsMsg*>(msg_));
    msg_ = other.msg_;
    other.msg_ = nullptr;
  }
  return *this;
}

Delivery::~Delivery() {
  if (msg_) natsMsg_Destroy(static_cast<natsMsg*>(msg_));
}

std::string_view Delivery::data() const {
  auto* m = static_cast<natsMsg*>(msg_);
  return {natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m))};
}

Status Delivery::ack() {
  natsStatus s = natsMsg_Ack(static_cast<natsMsg*>(msg_), nullptr);
  return s == NATS_OK ? Status::ok() : failed("acknowledging a message", s);
}

Status Delivery::nak(std::chrono::milliseconds delay) {
  natsStatus s = natsMsg_NakWithDelay(static_cast<natsMsg*>(msg_), delay.count(), nullptr);
  return s == NATS_OK ? Status::ok() : failed("refusing a message", s);
}

// --- Consumer

Consumer::~Consumer() {
  if (sub_) natsSubscription_Destroy(static_cast<natsSubscription*>(sub_));
}

Result<std::vector<Delivery>> Consumer::fetch(int max, std::chrono::milliseconds wait) {
  natsMsgList list{};
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = natsSubscription_Fetch(&list, static_cast<natsSubscription*>(sub_), max, wait.count(), &jerr);
  std::vector<Delivery> out;
  if (s == NATS_TIMEOUT) return out;
  if (s != NATS_OK) return failed("fetching messages", s, jerr);
  out.reserve(static_cast<size_t>(list.Count));
  for (int i = 0; i < list.Count; ++i) {
    out.push_back(Delivery(list.Msgs[i]));
    list.Msgs[i] = nullptr;  // owned by the Delivery now
  }
  natsMsgList_Destroy(&list);
  return out;
}

// --- NatsBus

struct NatsBus::Impl {
  natsConnection* connection = nullptr;
  jsCtx* js = nullptr;
  std::atomic<int> publish_failures{0};
  std::vector<std::string> secrets;  // scrubbed from every message
  // The broker's last refusal of something this user may not do (a
  // permissions violation: it answers such a publish or request with nothing).
  std::mutex mu;
  uint64_t refusals = 0;       // guarded by mu
  std::string last_refusal;  // guarded by mu

  ~Impl() {
    if (js) jsCtx_Destroy(js);
    if (connection) natsConnection_Destroy(connection);
  }

  static void on_publish_failure(jsCtx*, jsPubAckErr*, void* closure) {
    static_cast<Impl*>(closure)->publish_failures.fetch_add(1);
  }

  static void on_error(natsConnection* nc, natsSubscription*, natsStatus err, void* closure) {
    if (err != NATS_NOT_PERMITTED) return;
    const char* text = nullptr;
    natsConnection_GetLastError(nc, &text);
    auto* impl = static_cast<Impl*>(closure);
    std::string refusal = text && *text ? text : natsStatus_GetText(err);
    {
      std::lock_guard lk(impl->mu);
      ++impl->refusals;
      impl->last_refusal = refusal;
    }
    logging::log_limited(logging::Level::kWarn, "bus/refused", "bus", "the broker refused an operation to this user",
                         {{"error", impl->clean(refusal)}});
  }

  uint64_t refusal_mark() {
    std::lock_guard lk(mu);
    return refusals;
  }

  // `s` with what the broker refused since `mark`, and no secret in it.
  Status explain(const Status& s, uint64_t mark) {
    std::string text = s.message();
    {
      std::lock_guard lk(mu);
      if (refusals != mark) text += "; the broker refused this user: " + last_refusal;
    }
    return Status::io_error(clean(text));
  }

  std::string clean(std::string text) const { return scrub(std::move(text), secrets); }
};

Result<std::unique_ptr<NatsBus>> NatsBus::connect(const std::string& url, const BusSecurity& security) {
  open_library();
  std::unique_ptr<NatsBus> bus(new NatsBus());
  bus->impl_ = std::make_unique<Impl>();
  Impl& impl = *bus->impl_;
  const std::string shown = redact_url(url);
  UrlParts first = split_url(first_url(url));

  // Who this process is: from the URL or the credentials file, never both.
  std::string user;
  std::string who = "without credentials";
  if (!first.userinfo.empty()) {
    size_t colon = first.userinfo.find(':');
    if (colon != std::string_view::npos) {
      user = std::string(first.userinfo.substr(0, colon));
      impl.secrets.emplace_back(first.userinfo.substr(colon + 1));
      who = "as user '" + user + "' (from the URL)";
    } else {
      impl.secrets.emplace_back(first.userinfo);
      who = "with the token in the URL";
    }
  }
  Credentials credentials;
  if (!security.creds_file.empty()) {
    if (!first.userinfo.empty()) {
      return Status::invalid_argument("the bus URL " + shown +
                                      " carries credentials and a credentials file is given too: give one");
    }
    auto read = read_credentials(security.creds_file);
    if (!read) return read.status();
    credentials = std::move(read).value();
    if (credentials.nats_creds_file) {
      who = "with the NATS credentials file " + security.creds_file;
    } else {
      user = credentials.user;
      impl.secrets.push_back(credentials.password);
      who = "as user '" + user + "' (from " + security.creds_file + ")";
    }
  }

  natsOptions* options = nullptr;
  if (natsStatus s = natsOptions_Create(&options); s != NATS_OK) return failed("creating NATS options", s);
  std::unique_ptr<natsOptions, void (*)(natsOptions*)> owned(options, natsOptions_Destroy);
  if (natsStatus s = natsOptions_SetURL(options, url.c_str()); s != NATS_OK) {
    return Status::invalid_argument("the bus URL " + shown + " is not a NATS URL: " + natsStatus_GetText(s));
  }
  natsOptions_SetName(options, "ordersd");
  natsOptions_SetMaxReconnect(options, -1);  // a broker that restarts is waited for
  natsOptions_SetReconnectWait(options, 250);
  natsOptions_SetTimeout(options, 2000);
  natsOptions_SetErrorHandler(options, &Impl::on_error, &impl);
  if (credentials.nats_creds_file) {
    natsStatus s = natsOptions_SetUserCredentialsFromFiles(options, security.creds_file.c_str(), nullptr);
    if (s != NATS_OK) {
      return Status::invalid_argument(
          impl.clean(failed("using the NATS credentials file " + security.creds_file, s).message()));
    }
  } else if (!credentials.user.empty()) {
    natsOptions_SetUserInfo(options, credentials.user.c_str(), credentials.password.c_str());
  }
  // Replies and fetched messages come to this user's own inboxes, the only
  // ones the broker lets it read.
  if (!user.empty() && user.find_first_of(".*> \t") == std::string::npos) {
    natsOptions_SetCustomInboxPrefix(options, inbox_prefix_of(user).c_str());
  }
  if (!security.tls_ca_file.empty()) {
    if (access(security.tls_ca_file.c_str(), R_OK) != 0) {
      return Status::invalid_argument("cannot read the broker's CA file " + security.tls_ca_file + ": " +
                                      std::strerror(errno));
    }
    if (natsStatus s = natsOptions_SetSecure(options, true); s != NATS_OK) {
      return Status::invalid_argument(
          failed("TLS to the broker (is the NATS client library built without TLS?)", s).message());
    }
    if (natsStatus s = natsOptions_LoadCATrustedCertificates(options, security.tls_ca_file.c_str()); s != NATS_OK) {
      return Status::invalid_argument(failed("loading the broker's CA from " + security.tls_ca_file, s).message());
    }
    // The certificate must name the host (or address) the URL gives. cnats
    // checks that unconditionally only when built to (Debian's is); told
    // which name to expect, it always does. Not for a list of URLs: each
    // server there has a name of its own.
    if (std::string host = host_of(first.hostport); !host.empty() && url.find(',') == std::string::npos) {
      natsOptions_SetExpectedHostname(options, host.c_str());
    }
  }

  // A broker still starting is tried for a few seconds before giving up.
  natsStatus s = NATS_NO_SERVER;
  for (int attempt = 0; attempt < 40; ++attempt) {
    s = natsConnection_Connect(&impl.connection, options);
    if (s == NATS_OK || !transient(s)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (s == NATS_CONNECTION_AUTH_FAILED) {
    return Status::invalid_argument(
        impl.clean(failed("the broker at " + shown + " refused the connection " + who, s).message()));
  }
  if (s == NATS_SSL_ERROR || s == NATS_SECURE_CONNECTION_WANTED || s == NATS_SECURE_CONNECTION_REQUIRED) {
    std::string hint = security.tls_ca_file.empty()
                           ? " (to verify the broker's certificate, give the CA that signed it)"
                           : " (verified against " + security.tls_ca_file + ")";
    return Status::invalid_argument(
        impl.clean(failed("no TLS connection to the broker at " + shown + hint, s).message()));
  }
  if (s != NATS_OK) return Status::io_error(impl.clean(failed("connecting to " + shown + " " + who, s).message()));

  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = 5000;
  js_options.PublishAsync.MaxPending = 4096;
  js_options.PublishAsync.ErrHandler = &Impl::on_publish_failure;
  js_options.PublishAsync.ErrHandlerClosure = &impl;
  if (s = natsConnection_JetStream(&impl.js, impl.connection, &js_options); s != NATS_OK) {
    return impl.explain(failed("opening JetStream", s), 0);
  }

  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  s = js_GetStreamInfo(&info, impl.js, kStreamName, nullptr, &jerr);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(info);
    return bus;
  }
  if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) {
    return impl.explain(failed("looking up the ORDERSD stream", s, jerr), 0);
  }
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = kStreamName;
  const char* subjects[] = {kAllSubjects};
  config.Subjects = subjects;
  config.SubjectsLen = 1;
  config.Storage = js_FileStorage;
  config.Duplicates = int64_t{10} * 60 * 1000 * kNanosPerMilli;  // a relay's retry is dropped for 10 minutes
  jerr = static_cast<jsErrCode>(0);
  s = js_AddStream(&info, impl.js, &config, nullptr, &jerr);
  if (s == NATS_OK) jsStreamInfo_Destroy(info);
  else if (jerr != JSStreamNameExistErr) {  // JSStreamNameExistErr: lost a race, fine
    return impl.explain(failed("creating the ORDERSD stream", s, jerr), 0);
  }
  return bus;
}

NatsBus::~NatsBus() = default;

Status NatsBus::publish(const std::vector<Outgoing>& messages, std::chrono::milliseconds wait) {
  impl_->publish_failures = 0;
  const uint64_t mark = impl_->refusal_mark();
  for (const Outgoing& m : messages) {
    jsPubOptions options;
    jsPubOptions_Init(&options);
    options.MsgId = m.id.c_str();
    options.MaxWait = wait.count();  // an acknowledgement that never comes counts as a failure
    natsStatus s = js_PublishAsync(impl_->js, m.subject.c_str(), m.data.data(), static_cast<int>(m.data.size()), &options);
    if (s != NATS_OK) return impl_->explain(failed("publishing to " + m.subject, s), mark);
  }
  jsPubOptions complete;
  jsPubOptions_Init(&complete);
  complete.MaxWait = wait.count();
  if (natsStatus s = js_PublishAsyncComplete(impl_->js, &complete); s != NATS_OK) {
    // Forget what is still pending: a message sent just before the broker
    // went away is never acknowledged, and every later wait would wait for it.
    natsMsgList pending{};
    if (js_PublishAsyncGetPendingList(&pending, impl_->js) == NATS_OK) natsMsgList_Destroy(&pending);
    return impl_->explain(failed("waiting for the broker's acknowledgements", s), mark);
  }
  if (int n = impl_->publish_failures.load(); n > 0) {
    return impl_->explain(Status::io_error(std::to_string(n) + " of " + std::to_string(messages.size()) +
                                           " messages were not acknowledged by the broker"),
                          mark);
  }
  return Status::ok();
}

Result<std::unique_ptr<Consumer>> NatsBus::consumer(const std::string& durable, const std::string& subject) {
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = kStreamName;
  options.Config.Durable = durable.c_str();
  options.Config.AckPolicy = js_AckExplicit;
  options.Config.DeliverPolicy = js_DeliverAll;
  // Short: a message fetched by a process that then died is delivered again
  // only after this, and until then every later event of its stream waits
  // behind it. A copy takes milliseconds; one delivered twice changes nothing.
  options.Config.AckWait = int64_t{2} * 1000 * kNanosPerMilli;
  options.Config.MaxAckPending = 4096;
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const uint64_t mark = impl_->refusal_mark();
  natsStatus s = js_PullSubscribe(&sub, impl_->js, subject.c_str(), durable.c_str(), nullptr, &options, &jerr);
  if (s != NATS_OK) return impl_->explain(failed("subscribing " + durable + " to " + subject, s, jerr), mark);
  return std::unique_ptr<Consumer>(new Consumer(sub));
}

}  // namespace ordersd::bus
