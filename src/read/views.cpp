#include "read/views.h"

#include "read/order_view.h"
#include "read/summary_views.h"

namespace ordersd::read {

const std::vector<ViewSpec>& all_views() {
  static const std::vector<ViewSpec> views = {
      {kOrderViewName, kOrderViewSpace, project_orders},
      {kCustomerViewName, kCustomerViewName, project_customers},
      {kInventoryViewName, kInventoryViewName, project_inventory},
      {kStatsViewName, kStatsViewName, project_stats},
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
