// Given/when/then steps shared by the Decider tests. A test file gives its
// events vector a doctest::StringMaker so that failures print the events.
#pragma once

#include <doctest/doctest.h>

#include <variant>
#include <vector>

namespace ordersd::test {

// `state` with `events` folded in (evolve is found by argument-dependent lookup).
template <typename State, typename Event>
State fold(State state, const std::vector<Event>& events) {
  for (const auto& e : events) state = evolve(std::move(state), e);
  return state;
}

// The events of an accepted command; fails the test on a refusal.
template <typename Event, typename Refusal>
std::vector<Event> accepted(const std::variant<std::vector<Event>, Refusal>& decision) {
  if (const auto* refusal = std::get_if<Refusal>(&decision)) {
    FAIL_CHECK("refused: " << refusal->message);
    return {};
  }
  return std::get<std::vector<Event>>(decision);
}

// The refusal of a refused command; fails the test on acceptance.
template <typename Event, typename Refusal>
Refusal refused(const std::variant<std::vector<Event>, Refusal>& decision) {
  if (const auto* events = std::get_if<std::vector<Event>>(&decision)) {
    FAIL_CHECK("accepted: " << doctest::toString(*events));
    return Refusal{};
  }
  return std::get<Refusal>(decision);
}

}  // namespace ordersd::test
