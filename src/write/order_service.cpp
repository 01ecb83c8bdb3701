#include "write/order_service.h"

#include <algorithm>

#include "write/order_codec.h"

namespace ordersd::write {

struct OrderService::Execution {
  OrderCommandRequest request;
  std::function<void(CommandOutcome)> done;
  int attempts = 0;
};

OrderService::OrderService(events::EventLog& log, WorkQueue& work, UuidGenerator& ids)
    : log_(log), work_(work), ids_(ids) {}

Result<OrderState> OrderService::load(std::string_view order_id, uint64_t up_to_version) const {
  constexpr uint64_t kPage = 512;
  OrderState state;
  std::string stream = order_stream(order_id);
  for (uint64_t next = 1; next <= up_to_version;) {
    size_t want = static_cast<size_t>(std::min(kPage, up_to_version - next + 1));
    auto page = log_.read_stream(stream, next, want);
    if (!page) return page.status();
    for (const auto& recorded : *page) {
      auto event = order_event_from(recorded);
      if (!event) {
        return Status::corruption("stream " + stream + " holds a " + std::string(recorded.type()) +
                                      " event at position " + std::to_string(recorded.position()),
                                  recorded.position());
      }
      state = evolve(std::move(state), *event);
    }
    if (page->size() < want) break;
    next = page->back().version() + 1;
  }
  return state;
}

void OrderService::execute(OrderCommandRequest request, std::function<void(CommandOutcome)> done) {
  auto execution = std::make_shared<Execution>(Execution{std::move(request), std::move(done), 0});
  // Placing an order needs no load: it is decided against "no order yet" and
  // appended expecting no stream, which the log checks. Only when the order
  // exists after all is it loaded, to refuse with its status.
  if (std::holds_alternative<PlaceOrder>(execution->request.command) && !execution->request.expected_version) {
    return decide_and_append(execution, OrderState{});
  }
  work_.post([this, execution] { attempt(execution); });
}

void OrderService::attempt(std::shared_ptr<Execution> e) {
  auto loaded = load(e->request.order_id);
  if (!loaded) return e->done(loaded.status());
  decide_and_append(std::move(e), *loaded);
}

void OrderService::decide_and_append(std::shared_ptr<Execution> e, const OrderState& state) {
  ++e->attempts;
  const OrderCommandRequest& req = e->request;
  if (req.expected_version && *req.expected_version != state.version) {
    return e->done(PreconditionFailed{state.version});
  }
  Decision decision = decide(state, req.command);
  if (auto* refusal = std::get_if<Refusal>(&decision)) return e->done(std::move(*refusal));

  const auto& decided = std::get<std::vector<OrderEvent>>(decision);
  OrderState after = state;
  events::StreamAppend part{order_stream(req.order_id),
                            state.version == 0 ? events::ExpectedVersion::no_stream()
                                               : events::ExpectedVersion::exact(state.version),
                            {}};
  for (size_t i = 0; i < decided.size(); ++i) {
    after = evolve(std::move(after), decided[i]);
    Uuid id = req.id_seed ? uuid_from_name(*req.id_seed + "/" + std::to_string(i)) : ids_.next();
    part.events.push_back(to_new_event(req.order_id, decided[i], id, req.correlation_id));
  }
  events::AppendRequest append;
  append.streams.push_back(std::move(part));
  if (req.side_writes) {
    append.side_writes_for = [e, after](const events::AppendResult& result, events::SideWrites& writes) {
      e->request.side_writes(after, result, writes);
    };
  }
  log_.append_async(std::move(append), [this, e, after](Result<events::AppendResult> result) {
    if (result) return e->done(Executed{after, std::move(result).value()});
    const Status& s = result.status();
    if (s.code() == Status::Code::kWrongExpectedVersion) {
      // Another writer moved the order between our load and our append.
      if (e->request.expected_version) return e->done(PreconditionFailed{s.actual_version()});
      if (e->attempts < kMaxAttempts) return work_.post([this, e] { attempt(e); });
    }
    e->done(s);
  });
}

}  // namespace ordersd::write
