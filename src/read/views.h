// The views ordersd keeps, by name: what serve runs a projector for and what
// replay rebuilds.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "read/projector.h"

namespace ordersd::read {

struct ViewSpec {
  std::string name;   // the projector's checkpoint, and how operators name the view
  std::string space;  // where its rows live
  // A fresh Apply for one projector or one replay: it may keep what it wrote
  // in memory, so it must see every batch of that one writer, in order.
  std::function<Projector::Apply()> make_apply;
};

// view-orders, view-customers, view-inventory, view-stats, view-timeline.
const std::vector<ViewSpec>& all_views();
const ViewSpec* find_view(std::string_view name);

}  // namespace ordersd::read
