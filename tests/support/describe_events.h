// How the Decider tests print the write side's events when a check fails:
// "PaymentDeclined{3000, card_declined}", "StockReserved{o-1, 3}",
// "[sku-a x3 sku-b x2]".
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "write/domain/order.h"
#include "write/domain/stock.h"

namespace ordersd::test {

std::string describe(const std::vector<write::StockLine>& lines);
std::string describe(const write::OrderEvent& event);
std::string describe(const write::StockEvent& event);

}  // namespace ordersd::test

namespace doctest {
template <>
struct StringMaker<std::vector<ordersd::write::StockLine>> {
  static String convert(const std::vector<ordersd::write::StockLine>& lines) {
    return ordersd::test::describe(lines).c_str();
  }
};
}  // namespace doctest
