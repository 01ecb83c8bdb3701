#include "read/views.h"

#include "read/order_view.h"
#include "read/summary_views.h"
#include "read/timeline_view.h"

namespace ordersd::read {

const std::vector<ViewSpec>& all_views() {
  static const std::vector<ViewSpec> views = {
      {kOrderViewName, kOrderViewSpace, order_projection},
      {kCustomerViewName, kCustomerViewName, customer_projection},
      {kInventoryViewName, kInventoryViewName, inventory_projection},
      {kStatsViewName, kStatsViewName, stats_projection},
      {kTimelineViewName, kTimelineViewSpace, timeline_projection},
  };
  return views;
}

const ViewSpec* find_view(std::string_view name) {
  for (const auto& v : all_views()) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

}  // namespace ordersd::read
