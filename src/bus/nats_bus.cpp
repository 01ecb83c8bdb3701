#include "bus/nats_bus.h"

#include <fcntl.h>
#include <nats/nats.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

std::string_view first_url(std::string_view url) { return url.substr(0, url.find(',')); }

// Failures a broker that is starting or restarting gives; any other at
// connect (refused credentials, TLS) is not tried again.
bool transient(natsStatus s) {
  return s == NATS_NO_SERVER || s == NATS_TIMEOUT || s == NATS_IO_ERROR || s == NATS_CONNECTION_CLOSED ||
         s == NATS_CONNECTION_DISCONNECTED || s == NATS_STALE_CONNECTION;
}

}  // namespace

std::string inbox_prefix_of(std::string_view user) { return "_INBOX." + std::string(user); }

std::string subject_of_kind(std::string_view kind) { return "ordersd.events." + std::string(kind); }

// --- a message and a consumer of JetStream

class NatsMessage final : public Message {
 public:
  explicit NatsMessage(natsMsg* msg) : msg_(msg) {}
  ~NatsMessage() override { natsMsg_Destroy(msg_); }
  std::string_view data() const override { return {natsMsg_GetData(msg_), static_cast<size_t>(natsMsg_GetDataLength(msg_))}; }
  std::optional<uint64_t> offset() const override { return std::nullopt; }  // the durable consumer keeps its place
  Status ack() override {
    natsStatus s = natsMsg_Ack(msg_, nullptr);
    return s == NATS_OK ? Status::ok() : failed("acknowledging a message", s);
  }
  Status nak(std::chrono::milliseconds delay) override {
    natsStatus s = natsMsg_NakWithDelay(msg_, delay.count(), nullptr);
    return s == NATS_OK ? Status::ok() : failed("refusing a message", s);
  }

 private:
  natsMsg* msg_;
};

class NatsConsumer final : public Consumer {
 public:
  explicit NatsConsumer(natsSubscription* sub) : sub_(sub) {}
  ~NatsConsumer() override { natsSubscription_Destroy(sub_); }

  Result<std::vector<Delivery>> fetch(int max, std::chrono::milliseconds wait) override {
    natsMsgList list{};
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = natsSubscription_Fetch(&list, sub_, max, wait.count(), &jerr);
    std::vector<Delivery> out;
    if (s == NATS_TIMEOUT) return out;
    if (s != NATS_OK) return failed("fetching messages", s, jerr);
    out.reserve(static_cast<size_t>(list.Count));
    for (int i = 0; i < list.Count; ++i) {
      out.emplace_back(std::make_unique<NatsMessage>(list.Msgs[i]));
      list.Msgs[i] = nullptr;  // owned by the Delivery now
    }
    natsMsgList_Destroy(&list);
    return out;
  }

 private:
  natsSubscription* sub_;
};

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

namespace {

// The stream's description: what ordersd wrote, and the shard map it was created for.
std::string description_of(const std::string& shards) {
  return shards.empty() ? "ordersd events" : "ordersd events; shards " + shards;
}
std::string shards_of(const char* description) {
  std::string_view d = description ? description : "";
  size_t at = d.find("; shards ");
  return at == std::string_view::npos ? std::string() : std::string(d.substr(at + 9));
}

}  // namespace

Result<std::unique_ptr<NatsBus>> NatsBus::connect(const std::string& url, const BusSecurity& security,
                                                  const std::string& shards) {
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
    auto read = read_credentials(security.creds_file, true);
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
  // One URL, or a comma-separated list of a cluster's servers (each tried, and reconnected to).
  std::vector<std::string> servers;
  for (size_t at = 0; at <= url.size();) {
    size_t comma = std::min(url.find(',', at), url.size());
    std::string one = url.substr(at, comma - at);
    one.erase(0, one.find_first_not_of(' '));
    one.erase(one.find_last_not_of(' ') + 1);
    if (!one.empty()) servers.push_back(one);
    at = comma + 1;
  }
  std::vector<const char*> server_pointers;
  for (const auto& one : servers) server_pointers.push_back(one.c_str());
  natsStatus set = servers.size() == 1 ? natsOptions_SetURL(options, servers[0].c_str())
                                        : natsOptions_SetServers(options, server_pointers.data(),
                                                                 static_cast<int>(server_pointers.size()));
  if (servers.empty() || set != NATS_OK) {
    return Status::invalid_argument("the bus URL " + shown + " is not a NATS URL" +
                                    (set != NATS_OK ? std::string(": ") + natsStatus_GetText(set) : std::string()));
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

  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = kStreamName;
  const char* subjects[] = {kAllSubjects};
  config.Subjects = subjects;
  config.SubjectsLen = 1;
  config.Storage = js_FileStorage;
  config.Duplicates = int64_t{10} * 60 * 1000 * kNanosPerMilli;  // a relay's retry is dropped for 10 minutes
  // A list of brokers is a JetStream cluster: the stream is kept on as many
  // of them as the list names, at most 3, so that losing one loses nothing.
  config.Replicas = static_cast<int64_t>(std::min<size_t>(3, servers.size()));
  const std::string description = description_of(shards);
  config.Description = description.c_str();
  // Looked up, and created when missing. A cluster that has just started
  // elects its JetStream leader first (lookups time out meanwhile), and a
  // stream's replicas need that many servers up: tried for 15 s. A refusal
  // of this user is final.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  for (;;) {
    jsStreamInfo* info = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const uint64_t mark = impl.refusal_mark();
    s = js_GetStreamInfo(&info, impl.js, kStreamName, nullptr, &jerr);
    if (s == NATS_OK) {
      std::string theirs = shards_of(info->Config ? info->Config->Description : nullptr);
      jsStreamInfo_Destroy(info);
      if (theirs != shards) {
        return Status::invalid_argument(
            "the ORDERSD stream was created for " + (theirs.empty() ? "no shards" : "shards " + theirs) +
            ", and this process was given " + (shards.empty() ? "none" : shards) +
            ": give every process the same --peers (the shard map)");
      }
      break;
    }
    const char* step = "looking up the ORDERSD stream";
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
      step = "creating the ORDERSD stream";
      jerr = static_cast<jsErrCode>(0);
      s = js_AddStream(&info, impl.js, &config, nullptr, &jerr);
      if (s == NATS_OK) {
        jsStreamInfo_Destroy(info);
        break;
      }
      if (jerr == JSStreamNameExistErr) break;  // lost a race: fine
    }
    if (impl.refusal_mark() != mark || std::chrono::steady_clock::now() >= deadline) {
      return impl.explain(failed(step, s, jerr), mark);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return bus;
}

NatsBus::~NatsBus() = default;

Status NatsBus::probe(std::chrono::milliseconds wait) {
  // The stream's leader answers for it: none while it has no quorum.
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = wait.count();
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const uint64_t mark = impl_->refusal_mark();
  natsStatus s = js_GetStreamInfo(&info, impl_->js, kStreamName, &options, &jerr);
  if (s == NATS_OK) {
    // A node answers from what it knows even when the stream has lost its
    // quorum: then it names no leader, and nothing can be stored.
    bool leaderless = info->Cluster && (!info->Cluster->Leader || !*info->Cluster->Leader);
    jsStreamInfo_Destroy(info);
    if (leaderless) return Status::io_error("the ORDERSD stream has no leader (too few of its replicas are up)");
    return Status::ok();
  }
  return impl_->explain(failed("asking for the ORDERSD stream", s, jerr), mark);
}

Status NatsBus::publish(const std::vector<Outgoing>& messages, std::chrono::milliseconds wait) {
  impl_->publish_failures = 0;
  const uint64_t mark = impl_->refusal_mark();
  for (const Outgoing& m : messages) {
    jsPubOptions options;
    jsPubOptions_Init(&options);
    options.MsgId = m.id.c_str();
    options.MaxWait = wait.count();  // an acknowledgement that never comes counts as a failure
    const std::string subject = subject_of_kind(m.kind) + (m.route.empty() ? "" : "." + m.route);
    natsStatus s = js_PublishAsync(impl_->js, subject.c_str(), m.data.data(), static_cast<int>(m.data.size()), &options);
    if (s != NATS_OK) return impl_->explain(failed("publishing to " + subject, s), mark);
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

Result<std::unique_ptr<Consumer>> NatsBus::consumer(const std::string& durable, std::string_view kind, uint64_t,
                                                    std::string_view route) {
  const std::string subject = subject_of_kind(kind) + (route.empty() ? "" : "." + std::string(route));
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
  return std::unique_ptr<Consumer>(std::make_unique<NatsConsumer>(sub));
}

}  // namespace ordersd::bus
