#include "bus/nats_bus.h"

#include <nats/nats.h>

#include <atomic>
#include <mutex>
#include <thread>

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

}  // namespace

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

  ~Impl() {
    if (js) jsCtx_Destroy(js);
    if (connection) natsConnection_Destroy(connection);
  }

  static void on_publish_failure(jsCtx*, jsPubAckErr*, void* closure) {
    static_cast<Impl*>(closure)->publish_failures.fetch_add(1);
  }
};

Result<std::unique_ptr<NatsBus>> NatsBus::connect(const std::string& url) {
  open_library();
  std::unique_ptr<NatsBus> bus(new NatsBus());
  bus->impl_ = std::make_unique<Impl>();
  Impl& impl = *bus->impl_;

  natsOptions* options = nullptr;
  if (natsStatus s = natsOptions_Create(&options); s != NATS_OK) return failed("creating NATS options", s);
  std::unique_ptr<natsOptions, void (*)(natsOptions*)> owned(options, natsOptions_Destroy);
  natsOptions_SetURL(options, url.c_str());
  natsOptions_SetName(options, "ordersd");
  natsOptions_SetMaxReconnect(options, -1);  // a broker that restarts is waited for
  natsOptions_SetReconnectWait(options, 250);
  natsOptions_SetTimeout(options, 2000);
  // A broker still starting is tried for a few seconds before giving up.
  natsStatus s = NATS_NO_SERVER;
  for (int attempt = 0; attempt < 40; ++attempt) {
    s = natsConnection_Connect(&impl.connection, options);
    if (s == NATS_OK) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (s != NATS_OK) return failed("connecting to " + url, s);

  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = 5000;
  js_options.PublishAsync.MaxPending = 4096;
  js_options.PublishAsync.ErrHandler = &Impl::on_publish_failure;
  js_options.PublishAsync.ErrHandlerClosure = &impl;
  if (s = natsConnection_JetStream(&impl.js, impl.connection, &js_options); s != NATS_OK) {
    return failed("opening JetStream", s);
  }

  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  s = js_GetStreamInfo(&info, impl.js, kStreamName, nullptr, &jerr);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(info);
    return bus;
  }
  if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) return failed("looking up the ORDERSD stream", s, jerr);
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
  else if (jerr != JSStreamNameExistErr) return failed("creating the ORDERSD stream", s, jerr);  // lost a race: fine
  return bus;
}

NatsBus::~NatsBus() = default;

Status NatsBus::publish(const std::vector<Outgoing>& messages, std::chrono::milliseconds wait) {
  impl_->publish_failures = 0;
  for (const Outgoing& m : messages) {
    jsPubOptions options;
    jsPubOptions_Init(&options);
    options.MsgId = m.id.c_str();
    options.MaxWait = wait.count();  // an acknowledgement that never comes counts as a failure
    natsStatus s = js_PublishAsync(impl_->js, m.subject.c_str(), m.data.data(), static_cast<int>(m.data.size()), &options);
    if (s != NATS_OK) return failed("publishing to " + m.subject, s);
  }
  jsPubOptions complete;
  jsPubOptions_Init(&complete);
  complete.MaxWait = wait.count();
  if (natsStatus s = js_PublishAsyncComplete(impl_->js, &complete); s != NATS_OK) {
    // Forget what is still pending: a message sent just before the broker
    // went away is never acknowledged, and every later wait would wait for it.
    natsMsgList pending{};
    if (js_PublishAsyncGetPendingList(&pending, impl_->js) == NATS_OK) natsMsgList_Destroy(&pending);
    return failed("waiting for the broker's acknowledgements", s);
  }
  if (int n = impl_->publish_failures.load(); n > 0) {
    return Status::io_error(std::to_string(n) + " of " + std::to_string(messages.size()) +
                               " messages were not acknowledged by the broker");
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
  natsStatus s = js_PullSubscribe(&sub, impl_->js, subject.c_str(), durable.c_str(), nullptr, &options, &jerr);
  if (s != NATS_OK) return failed("subscribing " + durable + " to " + subject, s, jerr);
  return std::unique_ptr<Consumer>(new Consumer(sub));
}

}  // namespace ordersd::bus
